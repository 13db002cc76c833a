import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import { interactionsFromPairs } from './__fixtures__/interactions.js';
import { itemKnnTopK } from './baselines.js';
import { evaluateRankings, evaluateRetrieval } from './evaluate.js';
import { retrievalMetrics } from './metrics.js';
import { topKByDotProduct } from './topk.js';
import { usersWithInteractions } from './user-items.js';

// 4 users, 6 items; one-hot item embeddings (dim 6). Each user scores its train item 3 and its test
// item 2, everything else 0: unmasked the train item ranks first, masked the test item does.
const dim = 6;
const itemEmbeddings = new Float32Array(6 * dim);
for (let item = 0; item < 6; item++) itemEmbeddings[item * dim + item] = 1;
const trainPairs: Array<[number, number]> = [
  [0, 0],
  [1, 1],
  [2, 2],
  [3, 3],
];
const testPairs: Array<[number, number]> = [
  [0, 4],
  [1, 5],
  [2, 0],
]; // u3 has no test items
const train = interactionsFromPairs(4, 6, trainPairs);
const test = interactionsFromPairs(4, 6, testPairs, train);
const userEmbeddings = new Float32Array(4 * dim);
for (const [user, item] of trainPairs) userEmbeddings[user * dim + item] = 3;
for (const [user, item] of testPairs) userEmbeddings[user * dim + item] = 2;

describe('evaluateRetrieval', () => {
  it('ranks only the test users, masks by protocol default, and reports metrics, buckets, coverage', () => {
    const tfrs = evaluateRetrieval({
      userEmbeddings,
      itemEmbeddings,
      dim,
      train,
      test,
      protocol: 'tfrs',
      ks: [1, 2],
    });
    expect(Array.from(tfrs.queryUsers)).toEqual([0, 1, 2]);
    expect(tfrs.maskTrainItems).toBe(false);
    expect(tfrs.users).toBe(3);
    expect(tfrs.testPairs).toBe(3);
    expect(tfrs.metrics['recall@1']).toBe(0); // the train item is first
    expect(tfrs.metrics['recall@2']).toBe(1);
    expect(tfrs.metrics['mrr@2']).toBeCloseTo(0.5, 12);
    expect(tfrs.coverage['coverage@1']).toBeCloseTo(3 / 6, 12); // items 0, 1, 2
    expect(tfrs.buckets.map((b) => b.testPairs)).toEqual([1, 0, 2]); // i0 head; i4, i5 tail
    const perUser = evaluateRetrieval({
      userEmbeddings,
      itemEmbeddings,
      dim,
      train,
      test,
      protocol: 'per-user',
      ks: [1],
    });
    expect(perUser.maskTrainItems).toBe(true);
    expect(perUser.metrics['recall@1']).toBe(1);
    expect(perUser.metrics['ndcg@1']).toBe(1);
    expect(Array.from(perUser.topK.indices)).toEqual([4, 5, 0]);
  });

  it('equals topKByDotProduct + retrievalMetrics done by hand', () => {
    const report = evaluateRetrieval({
      userEmbeddings,
      itemEmbeddings,
      dim,
      train,
      test,
      protocol: 'tfrs',
      maskTrainItems: true,
    });
    expect(report.ks).toEqual([1, 5, 10, 50, 100]);
    const users = usersWithInteractions(test);
    const queries = Float32Array.from(
      Array.from(users).flatMap((u) => Array.from(userEmbeddings.subarray(u * dim, u * dim + dim))),
    );
    const topK = topKByDotProduct({
      queries,
      items: itemEmbeddings,
      dim,
      k: 100,
      exclude: (row) => Int32Array.of(trainPairs[users[row]!]![1]),
    });
    expect(report.topK).toEqual(topK);
    expect(report.metrics).toEqual(
      retrievalMetrics({ topK, queryUsers: users, ks: [1, 5, 10, 50, 100], test, protocol: 'tfrs' }),
    );
  });

  it('refuses embedding tables of the wrong size and mismatched dictionaries', () => {
    try {
      evaluateRetrieval({
        userEmbeddings: userEmbeddings.subarray(1),
        itemEmbeddings,
        dim,
        train,
        test,
        protocol: 'tfrs',
      });
      expect.unreachable();
    } catch (error) {
      expect(isRarefyError(error, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
      if (isRarefyError(error)) expect(error.input).toBe('userEmbeddings');
    }
    const foreign = interactionsFromPairs(5, 6, [[4, 1]]);
    expect(() =>
      evaluateRetrieval({ userEmbeddings, itemEmbeddings, dim, train, test: foreign, protocol: 'tfrs' }),
    ).toThrow(/userIds/);
  });
});

describe('evaluateRankings', () => {
  it('evaluates baseline lists with the per-protocol default cutoffs, buckets optional', () => {
    const users = usersWithInteractions(test);
    const topK = itemKnnTopK({ train, k: 100, queryUsers: users, maskTrainItems: true });
    const report = evaluateRankings({
      topK,
      queryUsers: users,
      train,
      test,
      protocol: 'per-user',
      buckets: false,
    });
    expect(report.ks).toEqual([10, 20, 50, 100]);
    expect(report.buckets).toEqual([]);
    // Six items only: every test item is within the top 10.
    expect(report.metrics['recall@10']).toBe(1);
    expect(report.coverage['coverage@100']).toBe(1);
  });
});

describe('evaluateRetrieval within-bucket recall', () => {
  it('ranks each popularity bucket on its own (hand-computed example)', () => {
    // Train counts 4, 2, 1, 1, 1, 1 over items 0-5 (10 interactions): head {0}, torso {1, 2}, tail {3, 4, 5}.
    const pairs: Array<[number, number]> = [
      [0, 0],
      [0, 0],
      [1, 0],
      [1, 0],
      [0, 1],
      [1, 1],
      [0, 2],
      [1, 3],
      [0, 4],
      [1, 5],
    ];
    const bucketTrain = interactionsFromPairs(2, 6, pairs);
    const bucketTest = interactionsFromPairs(
      2,
      6,
      [
        [0, 4],
        [1, 5],
      ],
      bucketTrain,
    );
    // u0 = (1, 0) ranks by x: 0, 1, 2, 3, 4, 5 (item 4 fifth overall, second among the tail).
    // u1 = (0, 1) ranks by y: 3, 5, then the ties (item 5 second overall and in the tail).
    const x = [5, 4, 3, 2, 1, 0];
    const y = [0, 0, 0, 2, 0, 1];
    const items = new Float32Array(12);
    for (let item = 0; item < 6; item++) {
      items[item * 2] = x[item] as number;
      items[item * 2 + 1] = y[item] as number;
    }
    const report = evaluateRetrieval({
      userEmbeddings: Float32Array.of(1, 0, 0, 1),
      itemEmbeddings: items,
      dim: 2,
      train: bucketTrain,
      test: bucketTest,
      protocol: 'tfrs',
      ks: [1, 2],
    });
    const [head, torso, tail] = report.buckets;
    expect([head?.items, torso?.items, tail?.items]).toEqual([1, 2, 3]);
    // In the full lists: u0's item 4 is 5th, u1's item 5 is 2nd.
    expect(tail?.recall).toEqual({ 'recall@1': 0, 'recall@2': 0.5 });
    // Among the tail only both are 2nd.
    expect(tail?.withinBucket).toEqual({ 'recall@1': 0, 'recall@2': 1 });
    expect(head?.withinBucket).toEqual({ 'recall@1': null, 'recall@2': null });
    // Off with the buckets.
    const plain = evaluateRetrieval({
      userEmbeddings: Float32Array.of(1, 0, 0, 1),
      itemEmbeddings: items,
      dim: 2,
      train: bucketTrain,
      test: bucketTest,
      protocol: 'tfrs',
      ks: [1, 2],
      buckets: false,
    });
    expect(plain.buckets).toEqual([]);
  });
});
