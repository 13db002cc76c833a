/**
 * The best items for one query, best first: row indices into the item embeddings and their scores
 * (the inner product <query, item>). Shorter than asked when the catalogue (less the excluded items)
 * is smaller.
 */
export interface SearchResult {
  /** Item rows, best first. */
  readonly indices: Int32Array;
  /** Their inner products with the query, in the same order. */
  readonly scores: Float32Array;
}

/**
 * Candidates of a search, best first: the `indices` and `scores` of two-tower's `SearchResult` (HNSW)
 * or `TopKResult` (exact; a padded list ends at index -1).
 */
export interface Candidates {
  readonly indices: Int32Array;
  readonly scores: Float32Array;
}

/** Whether `row` is in the ascending array `sorted`. */
function includesSorted(sorted: Int32Array, row: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = sorted[middle] as number;
    if (value === row) return true;
    if (value < row) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/** The best `k` candidates that are not in `exclude` (ascending), best first. */
function takeTop(candidates: Candidates, k: number, exclude: Int32Array): SearchResult {
  const { indices: rows, scores: values } = candidates;
  const indices = new Int32Array(Math.min(k, rows.length));
  const scores = new Float32Array(indices.length);
  let kept = 0;
  for (let i = 0; i < rows.length && kept < indices.length; i++) {
    const row = rows[i] as number;
    if (row < 0) break;
    if (exclude.length > 0 && includesSorted(exclude, row)) continue;
    indices[kept] = row;
    scores[kept] = values[i] as number;
    kept++;
  }
  return { indices: indices.subarray(0, kept), scores: scores.subarray(0, kept) };
}

/**
 * The top `k` of a search with the already seen items left out: asks `search` for k + |exclude|
 * candidates and drops the excluded ones. An approximate search may return fewer than asked, so while
 * fewer than k are left it asks for twice as many, up to `limit` candidates (then settles for fewer).
 *
 * @param search - the top `asked` candidates of the query, best first (an exact or an HNSW search)
 * @param size - items searched
 * @param k - how many to return
 * @param exclude - item rows never to return, ascending
 * @param limit - the most candidates to ask for (default `size`: an exact search)
 * @returns rows and scores, best first
 * @example
 * ```ts
 * const top = searchExcluding((asked) => index.search(query, asked), index.size, 10, seen, 512);
 * ```
 */
export function searchExcluding(
  search: (asked: number) => Candidates,
  size: number,
  k: number,
  exclude: Int32Array,
  limit: number = size,
): SearchResult {
  let asked = Math.min(size, k + exclude.length);
  for (;;) {
    const top = takeTop(search(Math.max(asked, 1)), k, exclude);
    if (top.indices.length >= Math.min(k, size) || asked >= size || asked >= limit) return top;
    asked = Math.min(size, asked * 2);
  }
}
