import type { RarefyInputError } from '@rarefy/sampling-core';
import type { RowSink } from './batch-assembler.js';
import { listColumns, quoteForMessage } from './csv-shared.js';
import { LineSplitter } from './line-splitter.js';
import { type RawValue, rowError, valueError } from './schema.js';

/** Receives the objects of a JSON Lines input. @internal */
export interface JsonObjectHandler {
  /** One object and its 1-based line. */
  object(value: Record<string, unknown>, line: number): void;
  /** A malformed line: throw it or count it. */
  invalid(error: RarefyInputError): void;
}

/**
 * An incremental JSON Lines parser: one JSON object per line; blank lines are skipped; a line
 * that is not valid JSON or not an object is reported to the handler.
 *
 * @example
 * ```ts
 * const parser = new JsonlParser({ object: (value) => rows.push(value), invalid: (e) => { throw e; } }, 'a.jsonl');
 * parser.push(new TextEncoder().encode('{"x":1}\n{"x":2}\n'));
 * parser.finish();
 * ```
 * @internal
 */
export class JsonlParser {
  private readonly splitter: LineSplitter;
  private readonly decoder = new TextDecoder('utf-8');

  /**
   * @param handler - receives objects and errors
   * @param source - the input's name for messages
   */
  constructor(handler: JsonObjectHandler, source: string) {
    this.splitter = new LineSplitter((bytes, start, end, line) => {
      const text = this.decoder.decode(bytes.subarray(start, end)).trim();
      if (text.length === 0) return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        handler.invalid(
          rowError(
            source,
            line,
            `the line is not valid JSON (${reason}): ${quoteForMessage(text)}`,
            "write one JSON object per line, or pass onInvalid: 'skip'",
          ),
        );
        return;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        handler.invalid(
          rowError(
            source,
            line,
            `the line holds ${Array.isArray(value) ? 'an array' : quoteForMessage(text)}, not a JSON object`,
            'write one object per line, e.g. {"y": 1, "x": 0.5}',
          ),
        );
        return;
      }
      handler.object(value as Record<string, unknown>, line);
    });
  }

  /**
   * Parses the next chunk.
   *
   * @param chunk - the next bytes
   * @returns nothing
   * @example
   * ```ts
   * parser.push(chunk);
   * ```
   */
  push(chunk: Uint8Array): void {
    this.splitter.push(chunk);
  }

  /**
   * Ends the input.
   *
   * @returns nothing
   * @example
   * ```ts
   * parser.finish();
   * ```
   */
  finish(): void {
    this.splitter.finish();
  }
}

/**
 * Turns JSON objects into rows of the schema's source columns: a missing key, a key outside the
 * schema, or a nested value is a bad row.
 *
 * @example
 * ```ts
 * const rows = new JsonlRowMapper(assembler, ['y', 'x'], [true, true], new Set(), 'a.jsonl');
 * rows.object({ y: 1, x: 0.5 }, 1);
 * ```
 * @internal
 */
export class JsonlRowMapper implements JsonObjectHandler {
  private readonly sink: RowSink;
  private readonly columns: readonly string[];
  private readonly kept: readonly boolean[];
  private readonly dropped: ReadonlySet<string>;
  private readonly source: string;
  private readonly index = new Map<string, number>();
  private readonly scratch: (RawValue | undefined)[];

  /**
   * @param sink - receives the rows
   * @param columns - the source columns (keys), in schema order
   * @param kept - per column: whether it is kept (dropped keys may be absent)
   * @param dropped - dropped key names (ignored wherever they appear)
   * @param source - the input's name for messages
   */
  constructor(
    sink: RowSink,
    columns: readonly string[],
    kept: readonly boolean[],
    dropped: ReadonlySet<string>,
    source: string,
  ) {
    this.sink = sink;
    this.columns = columns;
    this.kept = kept;
    this.dropped = dropped;
    this.source = source;
    columns.forEach((name, position) => {
      this.index.set(name, position);
    });
    this.scratch = new Array<RawValue | undefined>(columns.length).fill(undefined);
  }

  /**
   * Maps one object to a row and sends it on.
   *
   * @param value - the object
   * @param line - its line
   * @returns nothing
   * @example
   * ```ts
   * rows.object({ y: 1, x: 0.5 }, 1);
   * ```
   */
  object(value: Record<string, unknown>, line: number): void {
    const scratch = this.scratch;
    scratch.fill(undefined);
    for (const key of Object.keys(value)) {
      const position = this.index.get(key);
      if (position === undefined) {
        if (this.dropped.has(key)) continue;
        this.sink.invalid(
          rowError(
            this.source,
            line,
            `key ${JSON.stringify(key)} is not in the schema (read from the first rows: ${listColumns(this.columns)})`,
            "pass a larger inferRows, list the key in drop, or pass onInvalid: 'skip'",
            { column: key },
          ),
        );
        return;
      }
      if (!this.kept[position]) continue;
      const field = value[key];
      if (typeof field === 'object' && field !== null) {
        this.sink.invalid(
          valueError(
            this.source,
            line,
            key,
            JSON.stringify(field),
            'is a nested value; only numbers, strings, booleans and null are read',
            'flatten nested objects and arrays into columns, or list the key in drop',
          ),
        );
        return;
      }
      scratch[position] = field as RawValue;
    }
    for (let position = 0; position < scratch.length; position++) {
      if (scratch[position] === undefined && this.kept[position]) {
        const key = this.columns[position] as string;
        this.sink.invalid(
          rowError(
            this.source,
            line,
            `key ${JSON.stringify(key)} is missing`,
            `give every object the key ${JSON.stringify(key)} (null for a missing string), list it in drop, or pass onInvalid: 'skip'`,
            { column: key },
          ),
        );
        return;
      }
    }
    this.sink.add(scratch, line);
  }

  /**
   * Passes a malformed line on to the sink.
   *
   * @param error - the line's error
   * @returns nothing
   * @example
   * ```ts
   * rows.invalid(error);
   * ```
   */
  invalid(error: RarefyInputError): void {
    this.sink.invalid(error);
  }
}
