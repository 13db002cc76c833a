/**
 * Fixed-size top-K min-heaps kept in typed arrays (internal). A heap of size k lives at
 * `[base, base + k)` of a Float32Array of scores and an Int32Array of item indices; its root is the
 * worst entry kept. Order: a higher score is better; at equal scores the lower index is better.
 * Unfilled slots hold score -Infinity and index {@link EMPTY_SLOT}, which is worse than any real
 * entry (even one scoring -Infinity), so a heap is always "full" and one comparison against the root
 * decides whether a candidate enters.
 *
 * @internal
 */

/** Index stored in an unfilled slot (larger than any item index, so it loses every tie). */
export const EMPTY_SLOT = 0x7fffffff;

/** Fills every heap with empty slots. */
export function resetHeaps(scores: Float32Array, indices: Int32Array): void {
  scores.fill(Number.NEGATIVE_INFINITY);
  indices.fill(EMPTY_SLOT);
}

/**
 * Moves `(score, index)` down from position `position` of the heap at `base` (of `size` entries)
 * until both children are better, shifting the worse child up at each step.
 */
function siftDown(
  scores: Float32Array,
  indices: Int32Array,
  base: number,
  size: number,
  position: number,
  score: number,
  index: number,
): void {
  for (;;) {
    let child = 2 * position + 1;
    if (child >= size) break;
    let childScore = scores[base + child] as number;
    let childIndex = indices[base + child] as number;
    if (child + 1 < size) {
      const rightScore = scores[base + child + 1] as number;
      const rightIndex = indices[base + child + 1] as number;
      if (rightScore < childScore || (rightScore === childScore && rightIndex > childIndex)) {
        child++;
        childScore = rightScore;
        childIndex = rightIndex;
      }
    }
    if (score < childScore || (score === childScore && index > childIndex)) break;
    scores[base + position] = childScore;
    indices[base + position] = childIndex;
    position = child;
  }
  scores[base + position] = score;
  indices[base + position] = index;
}

/**
 * Replaces the root (the worst entry) of the heap at `base` with `(score, index)`. The caller has
 * checked that the candidate is better than the root.
 */
export function replaceRoot(
  scores: Float32Array,
  indices: Int32Array,
  base: number,
  k: number,
  score: number,
  index: number,
): void {
  siftDown(scores, indices, base, k, 0, score, index);
}

/**
 * Offers `count` candidate scores (`candidates[from + o]` is item `firstItem + o`, visited in
 * ascending item order) to the heap at `base`. NaN scores never enter (masked items are set to NaN).
 */
export function offerScores(
  candidates: Float32Array,
  from: number,
  count: number,
  firstItem: number,
  scores: Float32Array,
  indices: Int32Array,
  base: number,
  k: number,
): void {
  let rootScore = scores[base] as number;
  let rootIndex = indices[base] as number;
  for (let offset = 0; offset < count; offset++) {
    const score = candidates[from + offset] as number;
    // Items come in ascending order, so at equal scores only an empty slot loses to the newcomer.
    if (score > rootScore || (score === rootScore && firstItem + offset < rootIndex)) {
      siftDown(scores, indices, base, k, 0, score, firstItem + offset);
      rootScore = scores[base] as number;
      rootIndex = indices[base] as number;
    }
  }
}

/**
 * Turns `rows` heaps of size k into lists sorted best first (heap sort in place); empty slots end
 * up last and get index -1 and score -Infinity.
 */
export function finishHeaps(scores: Float32Array, indices: Int32Array, rows: number, k: number): void {
  for (let row = 0; row < rows; row++) {
    const base = row * k;
    for (let end = k - 1; end > 0; end--) {
      const worstScore = scores[base] as number;
      const worstIndex = indices[base] as number;
      siftDown(scores, indices, base, end, 0, scores[base + end] as number, indices[base + end] as number);
      scores[base + end] = worstScore;
      indices[base + end] = worstIndex;
    }
    for (let at = base; at < base + k; at++) if (indices[at] === EMPTY_SLOT) indices[at] = -1;
  }
}
