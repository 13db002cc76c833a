/**
 * Formats a number for people: integers in full (up to 1e15), other values with `digits`
 * significant digits and no trailing zeros, switching to exponent form below 1e-4 or from 1e15.
 *
 * @param value - the number
 * @param digits - significant digits for non-integers (default 4)
 * @returns the text
 * @example
 * ```ts
 * formatNumber(0.012345678); // '0.01235'
 * formatNumber(1234567); // '1234567'
 * formatNumber(-0.5); // '-0.5'
 * formatNumber(3.2e-7); // '3.2e-7'
 * ```
 */
export function formatNumber(value: number, digits = 4): string {
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? 'Inf' : '-Inf';
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (Number.isInteger(value) && magnitude < 1e15) return String(value);
  if (magnitude >= 1e-4 && magnitude < 1e15) {
    const text = value.toPrecision(digits);
    if (text.includes('e')) return trimExponent(value.toExponential(Math.max(0, digits - 1)));
    return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
  }
  return trimExponent(value.toExponential(Math.max(0, digits - 1)));
}

/** 1.200e-7 -> 1.2e-7, 5.000e+20 -> 5e20. */
function trimExponent(text: string): string {
  const [mantissa = '', exponent = ''] = text.split('e');
  const trimmed = mantissa.includes('.') ? mantissa.replace(/\.?0+$/, '') : mantissa;
  return `${trimmed}e${exponent.replace('+', '')}`;
}

/**
 * Formats a duration for people.
 *
 * @param seconds - the duration in seconds
 * @returns e.g. `'850 ms'`, `'2.4 s'`, `'3 min 12 s'`
 * @example
 * ```ts
 * formatDuration(0.85); // '850 ms'
 * ```
 */
export function formatDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${formatNumber(seconds, 2)} s`;
  const minutes = Math.floor(seconds / 60);
  return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
}

/** One column of {@link formatTable}. */
export interface TableColumn {
  /** The key of the row objects. */
  key: string;
  /** The heading (default: the key). */
  header?: string;
  /** Alignment (default: right for numbers, left for anything else). */
  align?: 'left' | 'right';
  /** Significant digits for this column's numbers. */
  digits?: number;
  /** A custom formatter for this column's values. */
  format?: (value: unknown) => string;
}

/** Options of {@link formatTable}. */
export interface FormatTableOptions {
  /** The columns, in order (default: the keys of the first row). */
  columns?: ReadonlyArray<string | TableColumn>;
  /** Significant digits for numbers (default 4). */
  digits?: number;
  /** Put before every line (default none). */
  indent?: string;
}

/**
 * Lays rows out as a plain-text table with aligned columns: a heading, a rule, one line per row.
 * Numbers are right-aligned with {@link formatNumber}; missing values print as `-`.
 *
 * @param rows - the rows, as objects
 * @param options - columns, digits, indent
 * @returns the table (lines joined with `\n`, no final line break); empty for no rows
 * @example
 * ```ts
 * formatTable([
 *   { design: 'optA', eMSE: 0.0123, negatives: 1136 },
 *   { design: 'uniform', eMSE: 0.0289, negatives: 1000 },
 * ]);
 * // design     eMSE  negatives
 * // -------  ------  ---------
 * // optA     0.0123       1136
 * // uniform  0.0289       1000
 * ```
 */
export function formatTable(
  rows: ReadonlyArray<Readonly<Record<string, unknown>>>,
  options: FormatTableOptions = {},
): string {
  if (rows.length === 0) return '';
  const digits = options.digits ?? 4;
  const columns: TableColumn[] = (options.columns ?? Object.keys(rows[0] ?? {})).map((column) =>
    typeof column === 'string' ? { key: column } : column,
  );
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = row[column.key];
      if (column.format) return column.format(value);
      if (value === undefined || value === null) return '-';
      if (typeof value === 'number') return formatNumber(value, column.digits ?? digits);
      return String(value);
    }),
  );
  const alignments = columns.map(
    (column) =>
      column.align ??
      (rows.every((row) => {
        const value = row[column.key];
        return typeof value === 'number' || value === undefined || value === null;
      })
        ? 'right'
        : 'left'),
  );
  const headers = columns.map((column) => column.header ?? column.key);
  const widths = headers.map((header, j) =>
    Math.max(header.length, ...cells.map((line) => (line[j] as string).length)),
  );
  const pad = (text: string, j: number) =>
    alignments[j] === 'right' ? text.padStart(widths[j] as number) : text.padEnd(widths[j] as number);
  const indent = options.indent ?? '';
  const lines = [
    headers.map((header, j) => pad(header, j)),
    widths.map((width) => '-'.repeat(width)),
    ...cells.map((line) => line.map((cell, j) => pad(cell, j))),
  ];
  return lines.map((line) => `${indent}${line.join('  ')}`.trimEnd()).join('\n');
}
