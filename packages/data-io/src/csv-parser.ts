import { RarefyError } from '@rarefy/sampling-core';
import {
  CARRIAGE_RETURN,
  csvParseError,
  DEFAULT_SOURCE,
  decodeLatin1,
  LINE_FEED,
  QUOTE,
  quoteForMessage,
  singleByteOption,
} from './csv-shared.js';
import { parseDecimalText, type ScanCursor, scanDecimal } from './number-parse.js';

/**
 * The CSV byte parser: the one tokenizing and number-parsing loop of the package. `CsvTokenizer`
 * (string records), `CsvMatrixParser` (a row-major design matrix) and the streaming batch reader's
 * CSV/TSV path (typed columnar batches) are thin owners of a {@link CsvParser}: they differ only in
 * the {@link CsvColumnPlan} (what each column is) and the {@link CsvRows} (where values go).
 *
 * Numbers and labels are read straight from the bytes (`scanDecimal`, exact); only text columns,
 * and fields the fast paths cannot decide (quoted, padded, unusual), are decoded to strings.
 *
 * @internal
 */

/** A number column: a finite double, stored in `numbers`. @internal */
export const KIND_NUMBER = 0;
/** An integer column: a finite double that fits in an Int32, stored in `numbers`. @internal */
export const KIND_INTEGER = 1;
/** A label column: 0 or 1 by the plan's mapping, stored in `labels`. @internal */
export const KIND_LABEL = 2;
/** A text column: decoded and handed to {@link CsvRowSink.commit}. @internal */
export const KIND_TEXT = 3;
/** A column that is tokenized but not kept. @internal */
export const KIND_SKIP = 4;

/** What the parser does with each column of a record. @internal */
export interface CsvColumnPlan {
  /** The kind of each column (KIND_*), by position in the record. */
  readonly kinds: Uint8Array;
  /** Per column: its slot among the number columns (number, integer) or among the label columns. */
  readonly slots: Int32Array;
  /** The kind of fields past `kinds.length`: KIND_SKIP or KIND_TEXT. */
  readonly extraKind: number;
  /** A number slot set to 1 in every row (a design matrix's intercept), or -1 for none. */
  readonly onesSlot: number;
  /** Whether records may have any number of fields (no field-count check). */
  readonly variable: boolean;
  /** Whether every valid row is handed to {@link CsvRowSink.commit} (text columns, records). */
  readonly commits: boolean;
  /**
   * Whether a bad value is rejected as soon as it is read, before the rest of its row is tokenized
   * (for sinks whose `reject` throws; otherwise the row is rejected once complete).
   */
  readonly failFast: boolean;
  /** The label an unquoted `0` field means (-1: decide by `labelOf`). */
  readonly labelZero: number;
  /** The label an unquoted `1` field means (-1: decide by `labelOf`). */
  readonly labelOne: number;
  /** The label of any other label field's text: 0, 1, or -1 when it is not a label. */
  readonly labelOf: (text: string) => number;
}

/** A row the parser could not store: the wrong number of fields, or a bad value. @internal */
export interface CsvRowProblem {
  /** The 1-based line the row starts on. */
  readonly line: number;
  /** The number of fields the row has. */
  readonly fields: number;
  /** The number of fields the plan expects. */
  readonly expected: number;
  /** Whether the input ended inside this row (no line break after it). */
  readonly ended: boolean;
  /** The first column whose value is bad, or -1 (then `fields !== expected`). */
  readonly column: number;
  /** That value's text (quotes removed). */
  readonly text: string;
}

/** What a {@link CsvRows} does at its decision points: grow, take a row, refuse a row. @internal */
export interface CsvRowSink {
  /** Called when `rows.rows === rows.capacity`: grow, or hand the rows on and reset `rows.rows`. */
  makeRoom(rows: CsvRows): void;
  /**
   * A complete valid row, when the plan `commits`: `rows.rows` counts it already, and
   * `texts[column]` holds the text of every text column.
   */
  commit(rows: CsvRows, texts: readonly string[], fields: number, line: number): void;
  /** A row that is not stored: throw, or count it as skipped. */
  reject(rows: CsvRows, problem: CsvRowProblem): void;
}

/**
 * Where a {@link CsvParser} puts rows (one class for every use, so that the parser's loop sees one
 * shape). The value of number slot `s` of row `r` goes to
 * `numbers[r * numberRowStride + s * numberSlotStride]` (row-major: strides width and 1;
 * column-major: 1 and capacity), and of label slot `s` likewise to `labels`. Row `rows` is being
 * written; rows before it are complete. @internal
 */
export class CsvRows {
  numbers = new Float64Array(0);
  numberRowStride = 0;
  numberSlotStride = 0;
  labels = new Uint8Array(0);
  labelRowStride = 0;
  labelSlotStride = 0;
  /** Complete rows stored. */
  rows = 0;
  /** Rows that fit. */
  capacity = 0;
  /** Set by the sink's `commit` to make the parser return after the current row. */
  stop = false;
  /** What to do when full, with a row, with a bad row. */
  readonly sink: CsvRowSink;

  /**
   * @param sink - the owner's decisions
   */
  constructor(sink: CsvRowSink) {
    this.sink = sink;
  }
}

/** Options of {@link CsvParser}. @internal */
export interface CsvParserOptions {
  /** The field delimiter (default `,`). */
  delimiter?: string | undefined;
  /** The comment character (default none). */
  comment?: string | undefined;
  /** The text encoding (default `'utf-8'`). */
  encoding?: 'utf-8' | 'latin1' | undefined;
  /** The input's name in messages. */
  source?: string | undefined;
}

/** Fields up to this many bytes are decoded character by character (V8 keeps such strings flat). */
const SHORT_TEXT = 12;

/** True for an integer that fits in an Int32Array. */
function isInt32(value: number): boolean {
  return Number.isInteger(value) && value >= -2147483648 && value <= 2147483647;
}

/**
 * A plan that keeps every field as text, any number of them (whole records).
 *
 * @returns the plan
 * @example
 * ```ts
 * new CsvParser({}, store, recordPlan());
 * ```
 * @internal
 */
export function recordPlan(): CsvColumnPlan {
  return {
    kinds: new Uint8Array(0),
    slots: new Int32Array(0),
    extraKind: KIND_TEXT,
    onesSlot: -1,
    variable: true,
    commits: true,
    failFast: false,
    labelZero: -1,
    labelOne: -1,
    labelOf: () => -1,
  };
}

/**
 * A sink that keeps whole records (every field as text): the header, parseCsv, type inference.
 * Rows of the wrong length are ignored; after `limit` records it stops the parser. @internal
 */
export class CsvRecordSink implements CsvRowSink {
  /** The records kept so far. */
  records: { fields: string[]; line: number }[] = [];
  /** The rows to hand to the parser. */
  readonly rows: CsvRows = new CsvRows(this);
  private readonly limit: number;

  /**
   * @param limit - stop the parser after this many records (default: never)
   */
  constructor(limit = Number.POSITIVE_INFINITY) {
    this.limit = limit;
  }

  /**
   * Nothing is stored by position: keeps the row counter small.
   *
   * @param rows - the parser's rows (this sink's)
   * @returns nothing
   * @example
   * ```ts
   * sink.makeRoom(sink.rows);
   * ```
   */
  makeRoom(rows: CsvRows): void {
    rows.rows = 0;
    rows.capacity = 1 << 30;
  }

  /**
   * Keeps a record.
   *
   * @param rows - the parser's rows (this sink's)
   * @param texts - the fields' text
   * @param fields - how many fields the record has
   * @param line - the line it starts on
   * @returns nothing
   * @example
   * ```ts
   * sink.commit(sink.rows, ['a', 'b'], 2, 1);
   * ```
   */
  commit(rows: CsvRows, texts: readonly string[], fields: number, line: number): void {
    this.records.push({ fields: texts.slice(0, fields), line });
    if (this.records.length >= this.limit) rows.stop = true;
  }

  /**
   * Leaves out a record of the wrong length (callers that need every record use a variable plan).
   *
   * @returns nothing
   * @example
   * ```ts
   * sink.reject();
   * ```
   */
  reject(): void {
    // Nothing to keep.
  }
}

/**
 * The CSV byte parser (RFC 4180: quoted fields with `""` escapes, delimiters and line breaks in
 * quotes; LF, CRLF or CR line ends; a UTF-8 byte-order mark; comment lines; blank lines skipped; a
 * last record without a line break). Feed it with {@link CsvParser.push} (any chunking) or, without
 * copies, with {@link CsvParser.parse}; then {@link CsvParser.finish}.
 *
 * Without a plan, the first record is read as text and handed to `onFirstRecord`, which must call
 * {@link CsvParser.setPlan} and say whether that record was a header (consumed) or data (read
 * again with the plan).
 *
 * @example
 * ```ts
 * const sink = new CsvRecordSink();
 * const parser = new CsvParser({ source: 'a.csv' }, sink.rows, recordPlan());
 * parser.push(new TextEncoder().encode('a,b\n1,2\n'));
 * parser.finish();
 * sink.records; // [{ fields: ['a', 'b'], line: 1 }, { fields: ['1', '2'], line: 2 }]
 * ```
 * @internal
 */
export class CsvParser {
  /** The input's name in messages. */
  readonly source: string;
  /** The 1-based line on which the next record starts. */
  line = 1;
  private readonly delimiter: number;
  private readonly comment: number;
  private readonly latin1: boolean;
  private readonly decoder = new TextDecoder('utf-8');
  private readonly cursor: ScanCursor = { end: 0 };
  private readonly store: CsvRows;
  private plan: CsvColumnPlan | null;
  private readonly onFirstRecord: ((fields: string[], line: number) => boolean) | null;
  private texts: string[] = [];
  private atStart = true;
  /** Bytes of an incomplete record held from earlier chunks: `carry[0, carryLength)`. */
  private carry = new Uint8Array(0);
  private carryLength = 0;
  /** Try the held bytes again once they reach this length. */
  private retryAt = 0;
  private finished = false;
  // Results of field() (set before it returns).
  private fieldEnd = 0;
  private fieldNewlines = 0;

  /**
   * @param options - delimiter, comment character, encoding, source name
   * @param store - where the rows go
   * @param plan - what each column is, or null to decide from the first record
   * @param onFirstRecord - with no plan: called with the first record; sets the plan, returns
   *   true when the record is consumed (a header)
   * @throws RarefyError RAREFY_INVALID_ARGUMENT for a bad delimiter, comment or encoding
   */
  constructor(
    options: CsvParserOptions,
    store: CsvRows,
    plan: CsvColumnPlan | null,
    onFirstRecord: ((fields: string[], line: number) => boolean) | null = null,
  ) {
    this.source = options.source ?? DEFAULT_SOURCE;
    this.delimiter = singleByteOption(options.delimiter ?? ',', 'delimiter');
    this.comment = options.comment === undefined ? -1 : singleByteOption(options.comment, 'comment');
    if (this.comment === this.delimiter) {
      throw csvParseError(
        this.source,
        1,
        'the comment character equals the delimiter',
        'pick a comment character that is not the delimiter',
      );
    }
    const encoding = options.encoding ?? 'utf-8';
    if (encoding !== 'utf-8' && encoding !== 'latin1') {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `encoding: ${JSON.stringify(encoding)} is not supported`,
        "pass 'utf-8' (the default) or 'latin1'",
        { input: 'encoding' },
      );
    }
    this.latin1 = encoding === 'latin1';
    this.store = store;
    this.plan = null;
    this.onFirstRecord = onFirstRecord;
    if (plan !== null) this.setPlan(plan);
    else if (onFirstRecord === null) throw missingPlan(this.source);
  }

  /**
   * Sets what each column is (from the first record's callback, or before any input).
   *
   * @param plan - the columns' kinds and slots
   * @returns nothing
   * @example
   * ```ts
   * parser.setPlan(recordPlan());
   * ```
   */
  setPlan(plan: CsvColumnPlan): void {
    this.plan = plan;
    if (this.texts.length < plan.kinds.length) {
      this.texts = Array.from({ length: plan.kinds.length }, () => '');
    }
  }

  /**
   * Parses a chunk of any size (an incomplete last record is kept until the next chunk).
   *
   * @param chunk - the next bytes (not kept: the caller may reuse it)
   * @returns nothing
   * @example
   * ```ts
   * parser.push(bytes);
   * ```
   */
  push(chunk: Uint8Array): void {
    let offset = 0;
    if (this.carryLength > 0) {
      // A record cut by an earlier chunk. Parsing it again costs its length, so wait until the
      // held bytes have doubled since the last try (linear time however small the chunks).
      if (this.carryLength + chunk.length < this.retryAt) {
        this.hold(chunk, 0, chunk.length);
        return;
      }
      // Complete it from a short head of this chunk, so that the chunk itself is parsed in place.
      let take = 1 << 16;
      for (;;) {
        const held = this.carryLength;
        take = Math.min(chunk.length - offset, Math.max(take, held));
        this.hold(chunk, offset, offset + take);
        const consumed = this.parse(this.carry, 0, this.carryLength, false);
        if (consumed >= held) {
          offset += consumed - held;
          this.carryLength = 0;
          this.retryAt = 0;
          break;
        }
        offset += take;
        if (consumed > 0) {
          this.carry.copyWithin(0, consumed, this.carryLength);
          this.carryLength -= consumed;
        }
        if (offset === chunk.length) {
          this.retryAt = 2 * this.carryLength;
          return;
        }
        take *= 2;
      }
    }
    const consumed = this.parse(chunk, offset, chunk.length, false);
    if (consumed < chunk.length) {
      this.hold(chunk, consumed, chunk.length);
      this.retryAt = 2 * this.carryLength;
    }
  }

  /**
   * Ends the input: parses what was held back, as the end of the input.
   *
   * @returns nothing
   * @throws RarefyInputError RAREFY_PARSE_ERROR when the input ends inside quotes
   * @example
   * ```ts
   * parser.finish();
   * ```
   */
  finish(): void {
    if (this.finished) return;
    const length = this.carryLength;
    this.carryLength = 0;
    this.parse(this.carry, 0, length, true);
    this.finished = true;
  }

  /** Appends `chunk[start, end)` to the held bytes. */
  private hold(chunk: Uint8Array, start: number, end: number): void {
    const needed = this.carryLength + (end - start);
    if (needed > this.carry.length) {
      const grown = new Uint8Array(Math.max(needed, 2 * this.carry.length, 1024));
      grown.set(this.carry.subarray(0, this.carryLength));
      this.carry = grown;
    }
    this.carry.set(chunk.subarray(start, end), this.carryLength);
    this.carryLength = needed;
  }

  /**
   * Parses the complete records in `bytes[start, end)` and returns where the first incomplete one
   * starts (the caller passes those bytes again, followed by more, next time). With `final`, the
   * bytes are the end of the input and everything is consumed.
   *
   * @param bytes - a buffer
   * @param start - the first byte to parse
   * @param end - one past the last byte to parse
   * @param final - whether the input ends at `end`
   * @returns the index of the first byte not consumed
   * @example
   * ```ts
   * const consumed = parser.parse(buffer, 0, filled, false); // keep buffer[consumed, filled)
   * ```
   */
  parse(bytes: Uint8Array, start: number, end: number, final: boolean): number {
    let position = start;
    if (this.atStart) {
      if (!this.latin1) {
        if (end - position < 3 && !final) return position;
        if (bytes[position] === 0xef && bytes[position + 1] === 0xbb && bytes[position + 2] === 0xbf) {
          position += 3;
        }
      }
      this.atStart = false;
    }
    while (this.plan === null) {
      const onFirstRecord = this.onFirstRecord as (fields: string[], line: number) => boolean;
      const lineBefore = this.line;
      const header = new CsvRecordSink(1);
      const after = this.scan(bytes, position, end, final, recordPlan(), header.rows);
      const first = header.records[0];
      if (first === undefined) return after;
      const consumed = onFirstRecord(first.fields, first.line);
      if (this.plan === null) throw missingPlan(this.source);
      if (consumed) position = after;
      else this.line = lineBefore;
    }
    return this.scan(bytes, position, end, final, this.plan, this.store);
  }

  /** The tokenizing loop: records of `bytes[start, end)` by `plan` into `store`. */
  private scan(
    bytes: Uint8Array,
    start: number,
    end: number,
    final: boolean,
    plan: CsvColumnPlan,
    store: CsvRows,
  ): number {
    const delimiter = this.delimiter;
    const comment = this.comment;
    const kinds = plan.kinds;
    const slots = plan.slots;
    const columnCount = kinds.length;
    const extraKind = plan.extraKind;
    const variable = plan.variable;
    const commits = plan.commits;
    const failFast = plan.failFast;
    const labelZero = plan.labelZero;
    const labelOne = plan.labelOne;
    const onesSlot = plan.onesSlot;
    const cursor = this.cursor;
    const texts = this.texts;
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    // Where each column's value goes within a row, for the store's current strides.
    const numberOffsets = new Int32Array(columnCount);
    const labelOffsets = new Int32Array(columnCount);
    let numbers = store.numbers;
    let numberRowStride = store.numberRowStride;
    let labels = store.labels;
    let labelRowStride = store.labelRowStride;
    let numberSlotStride = store.numberSlotStride;
    let labelSlotStride = store.labelSlotStride;
    setOffsets(slots, store, numberOffsets, labelOffsets);
    let onesOffset = onesSlot * numberSlotStride;
    let rows = store.rows;
    let capacity = store.capacity;
    let line = this.line;
    let position = start;
    store.stop = false;
    records: while (position < end) {
      const rowStart = position;
      let byte = bytes[position] as number;
      if (byte === LINE_FEED || byte === CARRIAGE_RETURN) {
        // A blank line.
        position++;
        if (byte === CARRIAGE_RETURN) {
          if (position < end) {
            if (bytes[position] === LINE_FEED) position++;
          } else if (!final) {
            position = rowStart;
            break;
          }
        }
        line++;
        continue;
      }
      if (byte === comment) {
        while (position < end && bytes[position] !== LINE_FEED && bytes[position] !== CARRIAGE_RETURN) {
          position++;
        }
        if (position === end && !final) {
          position = rowStart;
          break;
        }
        continue; // the line break is then read as a blank line
      }
      if (rows === capacity) {
        store.rows = rows;
        store.sink.makeRoom(store);
        numbers = store.numbers;
        numberRowStride = store.numberRowStride;
        labels = store.labels;
        labelRowStride = store.labelRowStride;
        if (store.numberSlotStride !== numberSlotStride || store.labelSlotStride !== labelSlotStride) {
          numberSlotStride = store.numberSlotStride;
          labelSlotStride = store.labelSlotStride;
          setOffsets(slots, store, numberOffsets, labelOffsets);
          onesOffset = onesSlot * numberSlotStride;
        }
        rows = store.rows;
        capacity = store.capacity;
      }
      const numberBase = rows * numberRowStride;
      const labelBase = rows * labelRowStride;
      if (onesSlot >= 0) numbers[numberBase + onesOffset] = 1;
      let column = 0;
      let extraLines = 0;
      let badColumn = -1;
      let badText = '';
      let ended = true;
      for (;;) {
        const kind = column < columnCount ? (kinds[column] as number) : extraKind;
        if (kind <= KIND_INTEGER) {
          const fieldStart = position;
          let value = scanDecimal(bytes, view, position, end, delimiter, cursor);
          if (!Number.isNaN(value)) {
            position = cursor.end;
            if (kind === KIND_INTEGER && !isInt32(value) && badColumn < 0) {
              badColumn = column;
              badText = this.decode(bytes, fieldStart, position);
              if (failFast) this.rejectNow(store, line, column, badText);
            }
          } else {
            const text = this.field(bytes, position, end, final, line + extraLines, column, true);
            if (text === null) {
              position = rowStart;
              break records;
            }
            position = this.fieldEnd;
            extraLines += this.fieldNewlines;
            value = parseDecimalText(text);
            if ((!Number.isFinite(value) || (kind === KIND_INTEGER && !isInt32(value))) && badColumn < 0) {
              badColumn = column;
              badText = text;
              if (failFast) this.rejectNow(store, line, column, text);
            }
          }
          numbers[numberBase + (numberOffsets[column] as number)] = value;
        } else if (kind === KIND_LABEL) {
          byte = position < end ? (bytes[position] as number) : -1;
          let label = -1;
          if (
            (byte === 48 || byte === 49) &&
            (position + 1 < end ? isTerminator(bytes[position + 1] as number, delimiter) : final)
          ) {
            label = byte === 48 ? labelZero : labelOne;
          }
          if (label >= 0) {
            position++;
          } else {
            const text = this.field(bytes, position, end, final, line + extraLines, column, true);
            if (text === null) {
              position = rowStart;
              break records;
            }
            position = this.fieldEnd;
            extraLines += this.fieldNewlines;
            label = plan.labelOf(text);
            if (label < 0 && badColumn < 0) {
              badColumn = column;
              badText = text;
              if (failFast) this.rejectNow(store, line, column, text);
            }
          }
          labels[labelBase + (labelOffsets[column] as number)] = label;
        } else {
          const text = this.field(bytes, position, end, final, line + extraLines, column, kind === KIND_TEXT);
          if (text === null) {
            position = rowStart;
            break records;
          }
          position = this.fieldEnd;
          extraLines += this.fieldNewlines;
          if (kind === KIND_TEXT) texts[column] = text;
        }
        if (position >= end) {
          if (!final) {
            position = rowStart;
            break records;
          }
          break; // the input ends inside this row
        }
        byte = bytes[position] as number;
        if (byte === delimiter) {
          position++;
          column++;
          continue;
        }
        // A line break: LF, CRLF or a lone CR.
        position++;
        if (byte === CARRIAGE_RETURN) {
          if (position < end) {
            if (bytes[position] === LINE_FEED) position++;
          } else if (!final) {
            position = rowStart;
            break records;
          }
        }
        ended = false;
        break;
      }
      const fields = column + 1;
      if (badColumn >= 0 || (!variable && fields !== columnCount)) {
        store.rows = rows;
        this.line = line;
        store.sink.reject(store, {
          line,
          fields,
          expected: columnCount,
          ended,
          column: badColumn,
          text: badText,
        });
      } else {
        rows++;
        if (commits) {
          store.rows = rows;
          store.sink.commit(store, texts, fields, line);
          if (store.stop) {
            line += 1 + extraLines;
            break;
          }
        }
      }
      line += 1 + extraLines;
    }
    store.rows = rows;
    this.line = line;
    return position;
  }

  /** Rejects a row at its first bad value, before the row is complete (`failFast` plans). */
  private rejectNow(store: CsvRows, line: number, column: number, text: string): void {
    this.line = line;
    store.sink.reject(store, {
      line,
      fields: column + 1,
      expected: store === this.store && this.plan !== null ? this.plan.kinds.length : column + 1,
      ended: false,
      column,
      text,
    });
  }

  /** Decodes `bytes[start, end)` in the input's encoding. */
  private decode(bytes: Uint8Array, start: number, end: number): string {
    if (end - start <= SHORT_TEXT) {
      // Short ids and codes: building the string by character is about twice as fast as a
      // TextDecoder call (ASCII only for UTF-8; every byte is its character in Latin-1).
      let text = '';
      let position = start;
      for (; position < end; position++) {
        const byte = bytes[position] as number;
        if (byte > 0x7f && !this.latin1) break;
        text += String.fromCharCode(byte);
      }
      if (position === end) return text;
    }
    const view = bytes.subarray(start, end);
    return this.latin1 ? decodeLatin1(view) : this.decoder.decode(view);
  }

  /**
   * Reads one field the general way (quotes, spaces, anything): returns its text ('' when not
   * `decode`) and sets `fieldEnd` (the terminator's index) and `fieldNewlines`; null when the field
   * runs past `end` and more input may follow.
   */
  private field(
    bytes: Uint8Array,
    start: number,
    end: number,
    final: boolean,
    line: number,
    column: number,
    decode: boolean,
  ): string | null {
    const delimiter = this.delimiter;
    let position = start;
    this.fieldNewlines = 0;
    if (position < end && bytes[position] === QUOTE) {
      position++;
      let newlines = 0;
      let segments: Uint8Array[] | null = null;
      let segmentStart = position;
      for (;;) {
        if (position >= end) {
          if (!final) return null;
          throw csvParseError(
            this.source,
            line,
            'a quoted field is never closed (the file ends inside quotes)',
            'close the quote with a matching `"`, and write quotes inside quoted fields as `""`',
          );
        }
        const byte = bytes[position] as number;
        if (byte === QUOTE) {
          if (position + 1 < end && bytes[position + 1] === QUOTE) {
            // An escaped quote: keep the segment up to and including one quote.
            if (decode) {
              segments ??= [];
              segments.push(bytes.subarray(segmentStart, position + 1));
            }
            position += 2;
            segmentStart = position;
            continue;
          }
          if (position + 1 >= end && !final) return null;
          break;
        }
        if (byte === LINE_FEED) newlines++;
        position++;
      }
      let text = '';
      if (decode) {
        if (segments === null) {
          text = this.decode(bytes, segmentStart, position);
        } else {
          segments.push(bytes.subarray(segmentStart, position));
          let length = 0;
          for (const segment of segments) length += segment.length;
          const joined = new Uint8Array(length);
          let offset = 0;
          for (const segment of segments) {
            joined.set(segment, offset);
            offset += segment.length;
          }
          text = this.decode(joined, 0, length);
        }
      }
      position++; // the closing quote
      if (position < end && !isTerminator(bytes[position] as number, delimiter)) {
        throw csvParseError(
          this.source,
          line + newlines,
          `unexpected ${quoteForMessage(String.fromCharCode(bytes[position] as number))} after the closing quote of field ${column + 1}`,
          'write a quote inside a quoted field as `""`, and put nothing between a closing quote and the delimiter',
          { column: column + 1 },
        );
      }
      this.fieldEnd = position;
      this.fieldNewlines = newlines;
      return text;
    }
    while (position < end && !isTerminator(bytes[position] as number, delimiter)) position++;
    if (position >= end && !final) return null;
    this.fieldEnd = position;
    return decode ? this.decode(bytes, start, position) : '';
  }
}

/** Sets each column's offset within a row from its slot and the store's slot strides. */
function setOffsets(
  slots: Int32Array,
  store: CsvRows,
  numberOffsets: Int32Array,
  labelOffsets: Int32Array,
): void {
  for (let column = 0; column < numberOffsets.length; column++) {
    const slot = slots[column] as number;
    numberOffsets[column] = slot * store.numberSlotStride;
    labelOffsets[column] = slot * store.labelSlotStride;
  }
}

/** The error for a parser left without a plan (a bug in its owner, not in the input). */
function missingPlan(source: string): RarefyError {
  return new RarefyError(
    'RAREFY_INVALID_ARGUMENT',
    `${source}: the CSV parser has no column plan`,
    'pass a plan, or an onFirstRecord callback that calls setPlan',
    { input: source },
  );
}

/** True for the bytes that may end a field: the delimiter or a line break. */
function isTerminator(byte: number, delimiter: number): boolean {
  return byte === delimiter || byte === LINE_FEED || byte === CARRIAGE_RETURN;
}
