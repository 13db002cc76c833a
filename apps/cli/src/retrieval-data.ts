import { readInteractions, readItemCatalog } from '@rarefy/data-io/node';
import { isRarefyError, RarefyInputError } from '@rarefy/sampling-core';
import {
  buildInteractions,
  type FeatureTable,
  type ImpressionCheckOptions,
  type InteractionData,
  rejectImpressionNegatives,
} from '@rarefy/two-tower';

/** Where the interactions come from and how to read them. */
export interface RetrievalDataOptions {
  /** The interaction log (CSV, TSV or JSON Lines). */
  interactions: string;
  /** The user id column (default `userId`). */
  userColumn?: string;
  /** The item id column (default `movieId`). */
  itemColumn?: string;
  /** An explicit rating column: rows below `minRating` are dropped. */
  ratingColumn?: string;
  /** The threshold for `ratingColumn` (default: keep every rating). */
  minRating?: number;
  /**
   * An event or label column (`click`, `purchase`, `impression`, 0/1). Its rows are checked as
   * ALGORITHMS.md B.8 says: a value meaning "shown but not clicked" is refused (`RAREFY_INVALID_LABEL`)
   * unless `forRanking`; the other rows are the positives.
   */
  labelColumn?: string;
  /** Values of `labelColumn` that mean an engagement; with them, a value on neither list is refused. */
  positiveLabels?: readonly string[];
  /** Values of `labelColumn` that mean "shown, not clicked" (default: the library's list and numbers <= 0). */
  impressionLabels?: readonly string[];
  /**
   * The log is ranking data (impressions with and without a click): its impression rows are accepted
   * instead of refused, and left out of the retrieval positives (counted in `impressionsLeftOut`).
   */
  forRanking?: boolean;
  /**
   * An item catalogue in MovieLens' `movies.csv` form (`movieId,title,genres`): every listed item is
   * in the catalogue (cold start included) and genres become a multi-hot feature.
   */
  items?: string;
}

/** The interactions as positives, the catalogue, and the item features when a catalogue was given. */
export interface RetrievalData {
  readonly data: InteractionData;
  readonly itemFeatures?: FeatureTable;
  /** Titles by item index, when the catalogue has them (for printing). */
  readonly titles?: readonly string[];
  /** Rows of the log, before the rating threshold. */
  readonly rowsRead: number;
  /** Rows of `labelColumn` left out as impressions without a click (only with `forRanking`; else 0). */
  readonly impressionsLeftOut: number;
}

/** The flag each label option of {@link readRetrievalData} is given with on the command line. */
const LABEL_FLAGS = {
  labelColumn: '--label-column',
  positiveLabels: '--positive-labels',
  impressionLabels: '--impression-labels',
  forRanking: '--for-ranking',
} as const;

/**
 * The usage problem of the label flags, or null: `--positive-labels`, `--impression-labels` and
 * `--for-ranking` describe `--label-column` and mean nothing without it.
 *
 * @param options - the parsed flags
 * @returns the message for a usage error, or null
 * @example
 * ```ts
 * labelUsageProblem({ interactions: 'events.csv', forRanking: true }); // '--for-ranking goes with --label-column ...'
 * ```
 */
export function labelUsageProblem(options: RetrievalDataOptions): string | null {
  if (options.labelColumn !== undefined) return null;
  const given = (['positiveLabels', 'impressionLabels', 'forRanking'] as const).filter(
    (key) => options[key] !== undefined && options[key] !== false,
  );
  if (given.length === 0) return null;
  return `${given.map((key) => LABEL_FLAGS[key]).join(' and ')} ${given.length === 1 ? 'goes' : 'go'} with --label-column <column>, the event column they describe`;
}

/**
 * A label error of the library (written for its options: 'labels', positiveLabels, purpose) as the
 * command line says it: the file and column in the problem, the flags in the fix.
 */
function labelError(error: unknown, path: string, column: string): unknown {
  if (!isRarefyError(error, 'RAREFY_INVALID_LABEL')) return error;
  const fix = error.fix
    .replace(/purpose: 'ranking'/g, LABEL_FLAGS.forRanking)
    .replace(/\bpositiveLabels\b/g, LABEL_FLAGS.positiveLabels)
    .replace(/\bimpressionLabels\b/g, LABEL_FLAGS.impressionLabels);
  return new RarefyInputError(
    error.code,
    error.problem.replace(
      /^labels: /,
      `${path}: column ${JSON.stringify(column)} (${LABEL_FLAGS.labelColumn}): `,
    ),
    fix,
    { ...error.details, input: LABEL_FLAGS.labelColumn },
  );
}

/** Whether `error` is the library's refusal of impression rows (and nothing else wrong). */
function isImpressionRefusal(error: unknown): boolean {
  return isRarefyError(error, 'RAREFY_INVALID_LABEL') && error.details.impressionRows !== undefined;
}

/** Whether the library reads `value` as an impression without a click under `vocabulary`. */
function isImpression(value: string, vocabulary: ImpressionCheckOptions): boolean {
  try {
    rejectImpressionNegatives([value], vocabulary);
    return false;
  } catch (error) {
    if (isImpressionRefusal(error)) return true;
    throw error;
  }
}

/** The multi-hot genre column of the item features. */
export const GENRES_COLUMN = 'genres';

/**
 * Reads an interaction log (and optionally a MovieLens-style catalogue) into the positives of a
 * retrieval model: explicit ratings at or above `minRating` (every rating when none is given), ids
 * dictionary-encoded with the catalogue first. With `labelColumn` the rows are checked by the
 * library's `buildInteractions` (ALGORITHMS.md B.8): engagements are the positives, and a label that
 * means "shown but not clicked" is refused, unless `forRanking` says the log is ranking data (its
 * impression rows are then left out of the positives).
 *
 * @param options - files and columns
 * @returns the positives, the item features and the titles
 * @throws RarefyInputError `RAREFY_INVALID_LABEL` naming the file and `--label-column` for an
 *   impression label without `forRanking`, an empty label, or (with `positiveLabels`) a value on
 *   neither list; as `readInteractions` and `buildInteractions`
 * @example
 * ```ts
 * const { data } = await readRetrievalData({ interactions: 'ml-latest-small/ratings.csv' });
 * ```
 */
export async function readRetrievalData(options: RetrievalDataOptions): Promise<RetrievalData> {
  const log = await readInteractions(options.interactions, {
    userColumn: options.userColumn ?? 'userId',
    itemColumn: options.itemColumn ?? 'movieId',
    ...(options.ratingColumn === undefined ? {} : { ratingColumn: options.ratingColumn }),
    ...(options.labelColumn === undefined ? {} : { labelColumn: options.labelColumn }),
  });
  let users: string[] = Array.from(log.users.codes, (code) => log.users.values[code] as string);
  let items: string[] = Array.from(log.items.codes, (code) => log.items.values[code] as string);
  let ratings = log.ratings;
  let timestamps = log.timestamps;
  let labels: string[] | undefined;
  let impressionsLeftOut = 0;
  const column = options.labelColumn ?? '';
  const vocabulary: ImpressionCheckOptions = {
    ...(options.positiveLabels === undefined ? {} : { positiveLabels: options.positiveLabels }),
    ...(options.impressionLabels === undefined ? {} : { impressionLabels: options.impressionLabels }),
  };
  if (log.labels !== null) {
    const { codes, values } = log.labels;
    labels = Array.from(codes, (code, row) => {
      const value = code < 0 ? '' : (values[code] as string);
      // An empty label is missing, not an engagement.
      if (value.trim() === '') {
        throw new RarefyInputError(
          'RAREFY_INVALID_LABEL',
          `${options.interactions}: column ${JSON.stringify(column)} (${LABEL_FLAGS.labelColumn}): row ${row} has no label`,
          'fill in every label, or drop the rows without one',
          { input: LABEL_FLAGS.labelColumn, row },
        );
      }
      return value;
    });
    if (options.forRanking) {
      // Ranking data: only the impressions are accepted; a value on neither list is still refused.
      try {
        rejectImpressionNegatives(labels, vocabulary);
      } catch (error) {
        if (!isImpressionRefusal(error)) throw labelError(error, options.interactions, column);
      }
      const impression = values.map((value) => isImpression(value, vocabulary));
      const kept: number[] = [];
      codes.forEach((code, row) => {
        if (!impression[code]) kept.push(row);
      });
      impressionsLeftOut = codes.length - kept.length;
      if (kept.length === 0) {
        throw new RarefyInputError(
          'RAREFY_NO_POSITIVES',
          `${options.interactions}: column ${JSON.stringify(column)} (${LABEL_FLAGS.labelColumn}): all ${codes.length} rows are impressions without a click, so no engagement is left to train retrieval on`,
          `keep the engagements (clicks, purchases) in the log, or list their values in ${LABEL_FLAGS.positiveLabels}`,
          { input: LABEL_FLAGS.labelColumn, rows: codes.length },
        );
      }
      if (impressionsLeftOut > 0) {
        const pick = <T>(column: ArrayLike<T>): T[] => kept.map((row) => column[row] as T);
        users = pick(users);
        items = pick(items);
        labels = pick(labels);
        ratings = ratings === null ? null : Float64Array.from(pick(ratings));
        timestamps = timestamps === null ? null : Float64Array.from(pick(timestamps));
      }
    }
  }
  const catalogue = options.items === undefined ? undefined : await readItemCatalog(options.items);
  const threshold = options.ratingColumn !== undefined && options.minRating !== undefined;
  let built: ReturnType<typeof buildInteractions>;
  try {
    // Retrieval purpose: the library refuses impression labels (B.8); with forRanking none is left.
    built = buildInteractions(
      {
        users,
        items,
        ...(threshold && ratings ? { ratings, minRating: options.minRating } : {}),
        ...(timestamps ? { timestamps } : {}),
        ...(labels === undefined ? {} : { labels, ...vocabulary }),
      },
      catalogue?.ids,
    );
  } catch (error) {
    throw labelError(error, options.interactions, column);
  }
  const data: InteractionData = {
    userIds: built.userIds,
    itemIds: built.itemIds,
    users: built.users,
    items: built.items,
    ...(built.weights ? { weights: built.weights } : {}),
    ...(built.timestamps ? { timestamps: built.timestamps } : {}),
  };
  if (catalogue === undefined) return { data, rowsRead: log.rows, impressionsLeftOut };
  const genresById = new Map<string, string>();
  const titleById = new Map<string, string>();
  catalogue.ids.forEach((id, row) => {
    genresById.set(id, (catalogue.genres[row] ?? []).join('|'));
    titleById.set(id, catalogue.titles[row] ?? '');
  });
  const itemFeatures: FeatureTable = {
    ids: data.itemIds,
    columns: { [GENRES_COLUMN]: data.itemIds.map((id) => genresById.get(id) ?? '') },
  };
  return {
    data,
    itemFeatures,
    titles: data.itemIds.map((id) => titleById.get(id) ?? id),
    rowsRead: log.rows,
    impressionsLeftOut,
  };
}
