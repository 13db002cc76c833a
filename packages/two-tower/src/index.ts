/**
 * @packageDocumentation
 * Two-tower retrieval models trained with corrected negative sampling (ALGORITHMS.md part B).
 */

export type { InteractionData } from './interactions.js';
export { itemCounts, selectInteractions } from './interactions.js';
