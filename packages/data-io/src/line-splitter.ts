import { CARRIAGE_RETURN, LINE_FEED } from './csv-shared.js';

/**
 * Receives one line: `bytes[start, end)` without its line break (LF or CRLF), and its 1-based
 * number. The bytes are valid only during the call.
 */
export type LineHandler = (bytes: Uint8Array, start: number, end: number, line: number) => void;

/**
 * Splits chunks of bytes into lines (LF or CRLF), however the chunks are cut; a UTF-8 byte-order
 * mark at the start is dropped and a last line without a line break is delivered by `finish`.
 *
 * @example
 * ```ts
 * const splitter = new LineSplitter((bytes, start, end, line) => console.log(line, end - start));
 * splitter.push(chunk);
 * splitter.finish();
 * ```
 * @internal
 */
export class LineSplitter {
  private readonly onLine: LineHandler;
  private carry = new Uint8Array(0);
  private carryLength = 0;
  private line = 1;
  private atStart = true;

  /**
   * @param onLine - called for every line, in order
   */
  constructor(onLine: LineHandler) {
    this.onLine = onLine;
  }

  /**
   * Splits the next chunk.
   *
   * @param chunk - the next bytes
   * @returns nothing
   * @example
   * ```ts
   * splitter.push(new TextEncoder().encode('a\nb'));
   * ```
   */
  push(chunk: Uint8Array): void {
    let position = 0;
    if (this.atStart) {
      if (this.carryLength + chunk.length < 3) {
        this.append(chunk, 0, chunk.length);
        return;
      }
      this.atStart = false;
      if (this.carryLength > 0) {
        const joined = new Uint8Array(this.carryLength + chunk.length);
        joined.set(this.carry.subarray(0, this.carryLength));
        joined.set(chunk, this.carryLength);
        this.carryLength = 0;
        chunk = joined;
      }
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) position = 3;
    }
    const length = chunk.length;
    if (this.carryLength > 0) {
      const newline = chunk.indexOf(LINE_FEED, position);
      if (newline < 0) {
        this.append(chunk, position, length);
        return;
      }
      this.append(chunk, position, newline);
      this.emit(this.carry, 0, this.carryLength);
      this.carryLength = 0;
      position = newline + 1;
    }
    for (;;) {
      const newline = chunk.indexOf(LINE_FEED, position);
      if (newline < 0) break;
      this.emit(chunk, position, newline);
      position = newline + 1;
    }
    if (position < length) this.append(chunk, position, length);
  }

  /**
   * Ends the input: delivers a last line that has no line break.
   *
   * @returns nothing
   * @example
   * ```ts
   * splitter.finish();
   * ```
   */
  finish(): void {
    if (this.atStart) {
      // Fewer than three bytes in all: no byte-order mark, but they may hold line breaks.
      this.atStart = false;
      const held = this.carry.slice(0, this.carryLength);
      this.carryLength = 0;
      this.push(held);
    }
    if (this.carryLength > 0) {
      this.emit(this.carry, 0, this.carryLength);
      this.carryLength = 0;
    }
  }

  private emit(bytes: Uint8Array, start: number, end: number): void {
    const last = end > start && bytes[end - 1] === CARRIAGE_RETURN ? end - 1 : end;
    this.onLine(bytes, start, last, this.line++);
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const needed = this.carryLength + (end - start);
    if (needed > this.carry.length) {
      const grown = new Uint8Array(Math.max(needed, this.carry.length * 2, 256));
      grown.set(this.carry.subarray(0, this.carryLength));
      this.carry = grown;
    }
    this.carry.set(chunk.subarray(start, end), this.carryLength);
    this.carryLength = needed;
  }
}
