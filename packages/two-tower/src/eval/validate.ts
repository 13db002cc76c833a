import { RarefyInputError, requireArgument } from '@rarefy/sampling-core';
import type { InteractionData } from '../interactions.js';

/**
 * Checks that `data` is well formed: `users` and `items` (and `weights` / `timestamps` when present)
 * have one entry per interaction, and every index lies inside its dictionary. O(n).
 *
 * @param data - the interactions to check
 * @param name - the argument's name, for the error message
 * @throws RarefyInputError `RAREFY_DIMENSION_MISMATCH` on a length mismatch,
 *   `RAREFY_INVALID_ARGUMENT` on an index outside `userIds` / `itemIds`
 * @internal
 */
export function validateInteractions(data: InteractionData, name: string): void {
  const n = data.users.length;
  const lengths: Array<[string, number | undefined]> = [
    ['items', data.items.length],
    ['weights', data.weights?.length],
    ['timestamps', data.timestamps?.length],
  ];
  for (const [field, length] of lengths) {
    if (length !== undefined && length !== n) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `${name}.${field}: has ${length} entries but ${name}.users has ${n}`,
        'give every interaction one user, one item (and one weight / timestamp when present)',
        { input: `${name}.${field}`, expected: n, actual: length },
      );
    }
  }
  const userCount = data.userIds.length;
  const itemCount = data.itemIds.length;
  for (let row = 0; row < n; row++) {
    const user = data.users[row] as number;
    const item = data.items[row] as number;
    if (user < 0 || user >= userCount) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${name}.users: row ${row} holds user index ${user}, outside [0, ${userCount}) of ${name}.userIds`,
        'encode users as indices into userIds',
        { input: `${name}.users`, row, value: user },
      );
    }
    if (item < 0 || item >= itemCount) {
      throw new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${name}.items: row ${row} holds item index ${item}, outside [0, ${itemCount}) of ${name}.itemIds`,
        'encode items as indices into itemIds',
        { input: `${name}.items`, row, value: item },
      );
    }
  }
}

/**
 * Checks that two interaction sets index the same user and item dictionaries (same sizes; the same
 * arrays or equal contents), as the parts of one split do.
 *
 * @internal
 */
export function requireSameDictionaries(
  first: InteractionData,
  firstName: string,
  second: InteractionData,
  secondName: string,
): void {
  for (const field of ['userIds', 'itemIds'] as const) {
    const a = first[field];
    const b = second[field];
    if (a === b) continue;
    let same = a.length === b.length;
    for (let i = 0; same && i < a.length; i++) same = a[i] === b[i];
    if (!same) {
      throw new RarefyInputError(
        'RAREFY_DIMENSION_MISMATCH',
        `${secondName}.${field}: differs from ${firstName}.${field} (${b.length} vs ${a.length} ids)`,
        `encode ${firstName} and ${secondName} with one dictionary, e.g. split one InteractionData with tfrsSplit or perUserSplit`,
        { input: `${secondName}.${field}` },
      );
    }
  }
}

/** Throws unless `value` is a positive integer. @internal */
export function requirePositiveInteger(value: number, input: string, fix: string): void {
  requireArgument(Number.isInteger(value) && value >= 1, input, `${value} is not a positive integer`, fix);
}
