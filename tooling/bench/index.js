import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

/**
 * Times `fn` `repeats` times after `warmup` untimed runs and returns the median and the spread.
 * @param {() => unknown | Promise<unknown>} fn
 * @param {{ repeats?: number, warmup?: number }} [options]
 */
export async function measure(fn, options = {}) {
  const repeats = options.repeats ?? 7;
  const warmup = options.warmup ?? 1;
  for (let i = 0; i < warmup; i++) await fn();
  const seconds = [];
  for (let i = 0; i < repeats; i++) {
    const start = performance.now();
    await fn();
    seconds.push((performance.now() - start) / 1000);
  }
  const sorted = [...seconds].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], seconds };
}

/** Median of a list of numbers. @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Writes `result` as `bench-results/<name>.json` under `directory`, atomically.
 * @param {string} directory
 * @param {string} name
 * @param {unknown} result
 */
export function writeResult(directory, name, result) {
  const folder = join(directory, 'bench-results');
  mkdirSync(folder, { recursive: true });
  const target = join(folder, `${name}.json`);
  const temporary = `${target}.${process.pid}.tmp`;
  const body = {
    name,
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    .../** @type {object} */ (result),
  };
  writeFileSync(temporary, `${JSON.stringify(body, null, 2)}\n`);
  renameSync(temporary, target);
  return target;
}

/**
 * Formats rows of objects as a Markdown table (for package READMEs and the console).
 * @param {Array<Record<string, unknown>>} rows
 */
export function markdownTable(rows) {
  if (rows.length === 0) return '';
  const columns = Object.keys(rows[0]);
  const cell = (value) =>
    typeof value === 'number'
      ? Number.isInteger(value)
        ? String(value)
        : value.toPrecision(4)
      : String(value);
  const lines = [`| ${columns.join(' | ')} |`, `|${columns.map(() => '---').join('|')}|`];
  for (const row of rows) lines.push(`| ${columns.map((c) => cell(row[c])).join(' | ')} |`);
  return lines.join('\n');
}
