import { RarefyError, RarefyInputError } from '@rarefy/sampling-core';

/** The line feed byte (`\n`). @internal */
export const LINE_FEED = 10;
/** The carriage return byte (`\r`). @internal */
export const CARRIAGE_RETURN = 13;
/** The double quote byte. @internal */
export const QUOTE = 34;

/** The default name of an input in error messages when the caller gives none. @internal */
export const DEFAULT_SOURCE = '<csv>';

/**
 * Checks a one-character delimiter or comment option and returns its byte.
 *
 * @param value - the option's value
 * @param option - its name, for the error message
 * @returns the ASCII byte
 * @example
 * ```ts
 * singleByteOption('\t', 'delimiter'); // 9
 * ```
 * @internal
 */
export function singleByteOption(value: string, option: 'delimiter' | 'comment'): number {
  const code = value.length === 1 ? value.charCodeAt(0) : -1;
  if (code < 1 || code > 127 || code === QUOTE || code === LINE_FEED || code === CARRIAGE_RETURN) {
    throw new RarefyError(
      'RAREFY_INVALID_ARGUMENT',
      `${option}: ${JSON.stringify(value)} is not a single ASCII character other than a quote or a line break`,
      option === 'delimiter'
        ? "pass ',' (CSV), '\\t' (TSV), ';' or '|'"
        : "pass a single character such as '#'",
      { input: option, value },
    );
  }
  return code;
}

/**
 * Builds the RAREFY_PARSE_ERROR raised for a malformed file.
 *
 * @param source - the file (or `<csv>`)
 * @param line - the 1-based line
 * @param problem - what is wrong there
 * @param fix - what to do
 * @param details - extra facts
 * @returns the error to throw
 * @example
 * ```ts
 * throw csvParseError('data.csv', 3, '2 fields where the header has 3', 'fix the row');
 * ```
 * @internal
 */
export function csvParseError(
  source: string,
  line: number,
  problem: string,
  fix: string,
  details: Record<string, unknown> = {},
): RarefyInputError {
  return new RarefyInputError('RAREFY_PARSE_ERROR', `${source}, line ${line}: ${problem}`, fix, {
    input: source,
    line,
    ...details,
  });
}

/**
 * Shortens and quotes a value for an error message.
 *
 * @param value - the offending text
 * @returns it JSON-quoted, cut at 40 characters
 * @example
 * ```ts
 * quoteForMessage('abc'); // '"abc"'
 * ```
 * @internal
 */
export function quoteForMessage(value: string): string {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}

/**
 * Lists column names for an error message (the first 20).
 *
 * @param columns - the names
 * @returns them quoted and comma-separated
 * @example
 * ```ts
 * listColumns(['a', 'b']); // '"a", "b"'
 * ```
 * @internal
 */
export function listColumns(columns: readonly string[]): string {
  const shown = columns.slice(0, 20).map((name) => JSON.stringify(name));
  if (columns.length > 20) shown.push(`… (${columns.length} in all)`);
  return shown.join(', ');
}

/**
 * Throws RAREFY_PARSE_ERROR when a header repeats a name.
 *
 * @param columns - the header's names
 * @param source - the file
 * @param line - the header's line
 * @returns nothing; throws on a repeated name
 * @example
 * ```ts
 * requireUniqueColumns(['y', 'x', 'x'], 'data.csv', 1); // throws: "x" twice
 * ```
 * @internal
 */
export function requireUniqueColumns(columns: readonly string[], source: string, line: number): void {
  const seen = new Map<string, number>();
  for (let index = 0; index < columns.length; index++) {
    const name = columns[index] as string;
    const previous = seen.get(name);
    if (previous !== undefined) {
      throw csvParseError(
        source,
        line,
        `the header names column ${JSON.stringify(name)} twice (columns ${previous + 1} and ${index + 1})`,
        'give every column a distinct name',
        { column: name },
      );
    }
    seen.set(name, index);
  }
}

/**
 * Decodes ISO-8859-1 bytes: each byte is the code point of its character.
 *
 * @param bytes - the bytes
 * @returns the text
 * @example
 * ```ts
 * decodeLatin1(Uint8Array.of(0x63, 0x61, 0x66, 0xe9)); // 'café'
 * ```
 * @internal
 */
export function decodeLatin1(bytes: Uint8Array): string {
  let text = '';
  for (let start = 0; start < bytes.length; start += 8192) {
    text += String.fromCharCode(...bytes.subarray(start, start + 8192));
  }
  return text;
}
