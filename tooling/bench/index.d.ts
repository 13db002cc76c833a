export interface Timing {
  /** Median wall-clock seconds over the timed repeats. */
  median: number;
  min: number;
  max: number;
  /** Every timed repeat, in seconds, in order. */
  seconds: number[];
}
export declare function measure(
  fn: () => unknown | Promise<unknown>,
  options?: { repeats?: number; warmup?: number },
): Promise<Timing>;
export declare function median(values: number[]): number;
export declare function writeResult(directory: string, name: string, result: object): string;
export declare function markdownTable(rows: Array<Record<string, unknown>>): string;
