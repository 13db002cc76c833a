import { RarefyInputError } from '@rarefy/sampling-core';
import type { InteractionData } from './interactions.js';

/** What the interactions will train: a retrieval model (the default) or a ranking model. */
export type InteractionPurpose = 'retrieval' | 'ranking';

/** A label or event value as read from a file: a number or a string. */
export type LabelValue = number | string;

/**
 * Label values read as "shown but not clicked" unless the caller says otherwise (compared after
 * trimming and lower-casing; numbers by their decimal text). Besides these, every number <= 0 (or
 * string holding one) counts as one: 0 and -1 are the usual encodings of "no click".
 *
 * 'view' is on the list on purpose: in impression logs it means "shown". In an e-commerce event log
 * where 'view' means the user opened the item page (an engagement), declare it positive with
 * `positiveLabels`.
 */
export const DEFAULT_IMPRESSION_LABELS: readonly string[] = [
  '0',
  '-1',
  'false',
  'no',
  'negative',
  'impression',
  'impressions',
  'impressed',
  'shown',
  'show',
  'exposure',
  'exposed',
  'view',
  'viewed',
  'skip',
  'skipped',
  'dismiss',
  'dismissed',
  'no_click',
  'no-click',
  'noclick',
  'not_clicked',
  'not-clicked',
  'unclicked',
  'nonclick',
];

/** Options of {@link rejectImpressionNegatives}. */
export interface ImpressionCheckOptions {
  /** 'ranking' skips the check (impressions are ranking data); default 'retrieval'. */
  purpose?: InteractionPurpose;
  /** Name of the label column, for the error message (default 'labels'). */
  column?: string;
  /**
   * Values that mean the user engaged (clicked, bought, rated). They win over the impression list.
   * When given, a value on neither list is refused as unknown.
   */
  positiveLabels?: readonly LabelValue[];
  /**
   * Values that mean "shown, not clicked". When given they replace the defaults
   * ({@link DEFAULT_IMPRESSION_LABELS} and numbers <= 0, as numbers or numeric strings).
   */
  impressionLabels?: readonly LabelValue[];
}

/** The comparison key of a label value: numbers by their decimal text, strings trimmed and lower-cased. */
function labelKey(value: LabelValue): string {
  return typeof value === 'number' ? String(value) : value.trim().toLowerCase();
}

const DEFAULT_IMPRESSION_KEYS = new Set(DEFAULT_IMPRESSION_LABELS);

/** The number a label stands for (a number, or a string holding one), else NaN. */
function numericValue(value: LabelValue): number {
  if (typeof value === 'number') return value;
  const text = value.trim();
  return text === '' ? Number.NaN : Number(text);
}

function checkPurpose(purpose: unknown): void {
  if (purpose !== undefined && purpose !== 'retrieval' && purpose !== 'ranking') {
    throw new RarefyInputError(
      'RAREFY_INVALID_ARGUMENT',
      `purpose: ${describeValue(purpose)} is not 'retrieval' or 'ranking'`,
      "pass purpose: 'retrieval' (the default) or 'ranking'",
      { input: 'purpose' },
    );
  }
}

/** Why impression negatives are refused (ALGORITHMS.md B.8), for the error message. */
const B8_EXPLANATION =
  'items shown but not clicked are hard cases that already passed retrieval and ranking; used as retrieval ' +
  'negatives they wreck recall (Facebook EBR measured -55% absolute recall). They are ranking data';

function describeValue(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * The check interaction loaders run on an event or label column before building retrieval data
 * (ALGORITHMS.md B.8): throws when any value means "shown but not clicked", unless
 * `purpose === 'ranking'`. Impressions without a click are ranking data; as retrieval negatives they
 * wreck recall (EBR: -55% absolute).
 *
 * A value is an engagement when it is in `positiveLabels`; else an impression when it is in
 * `impressionLabels` (default: {@link DEFAULT_IMPRESSION_LABELS} and every number <= 0); else, when
 * `positiveLabels` is given, it is unknown and refused; else it is an engagement.
 *
 * @param labels - the label or event value of every row
 * @param options - purpose, column name and the label vocabulary
 * @throws RarefyInputError `RAREFY_INVALID_LABEL` naming the first impression row (with the number of
 *   such rows in `details.impressionRows`), an unknown value, a NaN, or a value that is neither a
 *   number nor a string
 * @example
 * ```ts
 * rejectImpressionNegatives(events, { column: 'event', positiveLabels: ['click', 'purchase'] });
 * rejectImpressionNegatives(clicks, { purpose: 'ranking' }); // no check: the data is for a ranker
 * ```
 */
export function rejectImpressionNegatives(
  labels: ArrayLike<LabelValue>,
  options: ImpressionCheckOptions = {},
): void {
  checkPurpose(options.purpose);
  if (options.purpose === 'ranking') return;
  const column = options.column ?? 'labels';
  const positives = options.positiveLabels ? new Set(options.positiveLabels.map(labelKey)) : undefined;
  const impressions = options.impressionLabels ? new Set(options.impressionLabels.map(labelKey)) : undefined;
  let firstRow = -1;
  let firstValue: LabelValue = 0;
  let impressionRows = 0;
  for (let row = 0; row < labels.length; row++) {
    const value = labels[row] as unknown;
    if (typeof value !== 'number' && typeof value !== 'string') {
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${column}: row ${row} is ${describeValue(value)}, neither a number nor a string`,
        'fill in every label, or drop the rows without one',
        { input: column, row },
      );
    }
    if (typeof value === 'number' && Number.isNaN(value)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${column}: row ${row} is NaN`,
        'fill in every label, or drop the rows without one',
        { input: column, row },
      );
    }
    // An empty field is a missing label, not an engagement (it would pass every check below).
    if (typeof value === 'string' && value.trim() === '') {
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${column}: row ${row} is empty`,
        'fill in every label, or drop the rows without one',
        { input: column, row },
      );
    }
    const key = labelKey(value);
    if (positives?.has(key)) continue;
    const isImpression = impressions
      ? impressions.has(key)
      : DEFAULT_IMPRESSION_KEYS.has(key) || numericValue(value) <= 0;
    if (isImpression) {
      if (firstRow < 0) {
        firstRow = row;
        firstValue = value;
      }
      impressionRows++;
      continue;
    }
    if (positives) {
      throw new RarefyInputError(
        'RAREFY_INVALID_LABEL',
        `${column}: row ${row} is ${describeValue(value)}, neither a positive label (${[...positives].join(', ')}) nor an impression label`,
        'add the value to positiveLabels if it is an engagement (click, purchase, rating), or to impressionLabels and drop those rows if it means shown but not clicked',
        { input: column, row, value },
      );
    }
  }
  if (impressionRows > 0) {
    throw new RarefyInputError(
      'RAREFY_INVALID_LABEL',
      `${column}: ${impressionRows} of ${labels.length} rows are impressions without a click (first: row ${firstRow}, value ${describeValue(firstValue)}). Retrieval training must not use them as negatives: ${B8_EXPLANATION}`,
      "drop those rows and keep only engagements (sampled negatives come from the catalogue), or pass purpose: 'ranking' if the data is for a ranking model; if the value means an engagement (for example a page 'view' in an e-commerce log), list it in positiveLabels",
      { input: column, row: firstRow, value: firstValue, impressionRows },
    );
  }
}

/** Columns of {@link buildInteractions}: one entry per row, all of the same length. */
export interface InteractionColumns {
  /** User id per row (numbers are read by their decimal text: 7 and '7' are the same user). */
  users: ArrayLike<string | number>;
  /** Item id per row (numbers as for users). */
  items: ArrayLike<string | number>;
  /** Explicit rating per row (finite); with `minRating`, rows rated below it are dropped. */
  ratings?: ArrayLike<number>;
  /** Keep only rows whose rating is >= minRating (needs `ratings`). Without it every rating is a positive. */
  minRating?: number;
  /** Event or label per row, checked by {@link rejectImpressionNegatives} (refused for retrieval). */
  labels?: ArrayLike<LabelValue>;
  /** The name of the label column in errors (default `labels`), e.g. the file's column name. */
  labelColumn?: string;
  /** Label vocabulary for the check (see {@link ImpressionCheckOptions}). */
  positiveLabels?: readonly LabelValue[];
  /** Label vocabulary for the check (see {@link ImpressionCheckOptions}). */
  impressionLabels?: readonly LabelValue[];
  /** Reward weight r_i per row (finite, >= 0), for implicit events of different strength. */
  weights?: ArrayLike<number>;
  /** Event time per row (finite), for time-ordered splits. */
  timestamps?: ArrayLike<number>;
  /** 'retrieval' (default) or 'ranking': ranking data may hold impressions without a click. */
  purpose?: InteractionPurpose;
}

/** What {@link buildInteractions} returns: the interactions plus where each row came from. */
export interface BuiltInteractions extends InteractionData {
  /** Per interaction: its row in the input columns (rows below minRating are absent). */
  readonly sourceRows: Int32Array;
}

function checkLength(values: ArrayLike<unknown> | undefined, name: string, rows: number): void {
  if (values !== undefined && values.length !== rows) {
    throw new RarefyInputError(
      'RAREFY_DIMENSION_MISMATCH',
      `${name}: ${values.length} rows, but users has ${rows}`,
      'pass every column with one entry per interaction row',
      { input: name, length: values.length, expected: rows },
    );
  }
}

function idOf(value: unknown, name: string, row: number): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new RarefyInputError(
    'RAREFY_INVALID_ARGUMENT',
    `${name}: row ${row} is ${describeValue(value)}, not an id (a string or a finite number)`,
    `fill in every ${name === 'users' ? 'user' : 'item'} id, or drop the rows without one`,
    { input: name, row },
  );
}

function finiteAt(values: ArrayLike<number>, name: string, row: number, fix: string): number {
  const value = values[row] as number;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RarefyInputError(
      'RAREFY_NON_FINITE',
      `${name}: row ${row} is ${describeValue(value)}, not a finite number`,
      fix,
      {
        input: name,
        row,
        value,
      },
    );
  }
  return value;
}

/**
 * Builds {@link InteractionData} from raw columns, for retrieval training (ALGORITHMS.md B):
 *
 * - explicit ratings: with `minRating`, rows rated below it are dropped (without it every rating is a
 *   positive, as in the TFRS protocol);
 * - implicit events: every row is a positive, optionally weighted by `weights` (reward r_i of B.4);
 * - labels: checked by {@link rejectImpressionNegatives}; impressions without a click (label 0,
 *   'impression', ...) are refused unless `purpose` is 'ranking' (B.8), in which case every row is kept
 *   and `sourceRows` lines the labels up with the interactions.
 *
 * Ids are dictionary-encoded in first-seen order over the kept rows; when `catalogue` is given its
 * items come first, in its order, so items without any interaction are in `itemIds` (cold start).
 * Items of the data missing from the catalogue are appended after it.
 *
 * @param columns - the columns (see {@link InteractionColumns})
 * @param catalogue - optional list of every item id that may be recommended
 * @returns the interactions, with `sourceRows`
 * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` for columns of different lengths,
 *   `RAREFY_NON_FINITE` for a NaN rating, weight or timestamp, `RAREFY_INVALID_LABEL` for impression
 *   labels in retrieval data, `RAREFY_INVALID_ARGUMENT` for a missing id, a negative weight, a
 *   duplicate catalogue id or minRating without ratings, `RAREFY_NO_POSITIVES` when no row is left
 * @example
 * ```ts
 * const data = buildInteractions({ users: userCol, items: movieCol, ratings: ratingCol, minRating: 4 });
 * ```
 */
export function buildInteractions(
  columns: InteractionColumns,
  catalogue?: readonly string[],
): BuiltInteractions {
  checkPurpose(columns.purpose);
  const rows = columns.users.length;
  checkLength(columns.items, 'items', rows);
  checkLength(columns.ratings, 'ratings', rows);
  checkLength(columns.labels, 'labels', rows);
  checkLength(columns.weights, 'weights', rows);
  checkLength(columns.timestamps, 'timestamps', rows);
  const minRating = columns.minRating;
  if (minRating !== undefined) {
    if (columns.ratings === undefined) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        'minRating: given without a ratings column',
        'pass the ratings column, or leave minRating out',
        { input: 'minRating' },
      );
    }
    if (!Number.isFinite(minRating)) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `minRating: ${minRating} is not a finite number`,
        'pass the lowest rating that counts as a positive (for example 4 on a 1-5 scale)',
        { input: 'minRating', value: minRating },
      );
    }
  }
  if (columns.labels !== undefined) {
    rejectImpressionNegatives(columns.labels, {
      column: columns.labelColumn ?? 'labels',
      ...(columns.purpose !== undefined ? { purpose: columns.purpose } : {}),
      ...(columns.positiveLabels !== undefined ? { positiveLabels: columns.positiveLabels } : {}),
      ...(columns.impressionLabels !== undefined ? { impressionLabels: columns.impressionLabels } : {}),
    });
  }

  const itemIndex = new Map<string, number>();
  const itemIds: string[] = [];
  if (catalogue !== undefined) {
    for (let k = 0; k < catalogue.length; k++) {
      const id = catalogue[k];
      if (typeof id !== 'string') {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `catalogue: entry ${k} is ${describeValue(id)}, not a string id`,
          'pass the catalogue as an array of item id strings',
          { input: 'catalogue', index: k },
        );
      }
      if (itemIndex.has(id)) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `catalogue: item ${JSON.stringify(id)} appears twice (entries ${itemIndex.get(id)} and ${k})`,
          'list every catalogue item once',
          { input: 'catalogue', index: k },
        );
      }
      itemIndex.set(id, itemIds.length);
      itemIds.push(id);
    }
  }
  const userIndex = new Map<string, number>();
  const userIds: string[] = [];
  const users = new Int32Array(rows);
  const items = new Int32Array(rows);
  const sourceRows = new Int32Array(rows);
  const weights = columns.weights ? new Float32Array(rows) : undefined;
  const timestamps = columns.timestamps ? new Float64Array(rows) : undefined;
  let kept = 0;
  for (let row = 0; row < rows; row++) {
    if (columns.ratings !== undefined) {
      const rating = finiteAt(columns.ratings, 'ratings', row, 'fill in or drop the rows without a rating');
      if (minRating !== undefined && rating < minRating) continue;
    }
    const userId = idOf(columns.users[row], 'users', row);
    const itemId = idOf(columns.items[row], 'items', row);
    let user = userIndex.get(userId);
    if (user === undefined) {
      user = userIds.length;
      userIndex.set(userId, user);
      userIds.push(userId);
    }
    let item = itemIndex.get(itemId);
    if (item === undefined) {
      item = itemIds.length;
      itemIndex.set(itemId, item);
      itemIds.push(itemId);
    }
    if (weights && columns.weights) {
      const weight = finiteAt(columns.weights, 'weights', row, 'pass a finite weight >= 0 for every row');
      if (weight < 0) {
        throw new RarefyInputError(
          'RAREFY_INVALID_ARGUMENT',
          `weights: row ${row} is ${weight}, below 0`,
          'pass reward weights >= 0 (1 = a plain positive)',
          { input: 'weights', row, value: weight },
        );
      }
      weights[kept] = weight;
    }
    if (timestamps && columns.timestamps) {
      timestamps[kept] = finiteAt(
        columns.timestamps,
        'timestamps',
        row,
        'fill in or drop the rows without a time',
      );
    }
    users[kept] = user;
    items[kept] = item;
    sourceRows[kept] = row;
    kept++;
  }
  if (kept === 0) {
    throw new RarefyInputError(
      'RAREFY_NO_POSITIVES',
      rows === 0
        ? 'users: the columns have no rows'
        : `ratings: none of the ${rows} rows has a rating >= minRating (${minRating})`,
      rows === 0 ? 'pass at least one interaction' : 'lower minRating, or check the rating scale',
      { input: rows === 0 ? 'users' : 'ratings', rows },
    );
  }
  return {
    userIds,
    itemIds,
    users: users.slice(0, kept),
    items: items.slice(0, kept),
    ...(weights ? { weights: weights.slice(0, kept) } : {}),
    ...(timestamps ? { timestamps: timestamps.slice(0, kept) } : {}),
    sourceRows: sourceRows.slice(0, kept),
  };
}
