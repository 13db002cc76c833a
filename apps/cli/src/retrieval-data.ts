import { readInteractions, readItemCatalog } from '@rarefy/data-io/node';
import { buildInteractions, type FeatureTable, type InteractionData } from '@rarefy/two-tower';

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
}

/** The multi-hot genre column of the item features. */
export const GENRES_COLUMN = 'genres';

/**
 * Reads an interaction log (and optionally a MovieLens-style catalogue) into the positives of a
 * retrieval model: explicit ratings at or above `minRating` (every rating when none is given), ids
 * dictionary-encoded with the catalogue first.
 *
 * @param options - files and columns
 * @returns the positives, the item features and the titles
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
  });
  const users = Array.from(log.users.codes, (code) => log.users.values[code] as string);
  const items = Array.from(log.items.codes, (code) => log.items.values[code] as string);
  const catalogue = options.items === undefined ? undefined : await readItemCatalog(options.items);
  const threshold = options.ratingColumn !== undefined && options.minRating !== undefined;
  const built = buildInteractions(
    {
      users,
      items,
      ...(threshold && log.ratings ? { ratings: log.ratings, minRating: options.minRating } : {}),
      ...(log.timestamps ? { timestamps: log.timestamps } : {}),
    },
    catalogue?.ids,
  );
  const data: InteractionData = {
    userIds: built.userIds,
    itemIds: built.itemIds,
    users: built.users,
    items: built.items,
    ...(built.weights ? { weights: built.weights } : {}),
    ...(built.timestamps ? { timestamps: built.timestamps } : {}),
  };
  if (catalogue === undefined) return { data, rowsRead: log.rows };
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
  };
}
