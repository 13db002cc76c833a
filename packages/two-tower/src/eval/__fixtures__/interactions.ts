import type { InteractionData } from '../../interactions.js';

/**
 * Builds interaction data from (user, item) index pairs over `userCount` users `u0, u1, ...` and
 * `itemCount` items `i0, i1, ...` (tests only).
 *
 * @internal
 */
export function interactionsFromPairs(
  userCount: number,
  itemCount: number,
  pairs: ReadonlyArray<readonly [number, number]>,
  dictionaries?: Pick<InteractionData, 'userIds' | 'itemIds'>,
): InteractionData {
  return {
    userIds: dictionaries?.userIds ?? Array.from({ length: userCount }, (_, user) => `u${user}`),
    itemIds: dictionaries?.itemIds ?? Array.from({ length: itemCount }, (_, item) => `i${item}`),
    users: Int32Array.from(pairs, ([user]) => user),
    items: Int32Array.from(pairs, ([, item]) => item),
  };
}
