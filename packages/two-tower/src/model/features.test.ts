import { hashFeature } from '@rarefy/model-kit';
import { isRarefyError } from '@rarefy/sampling-core';
import { describe, expect, it } from 'vitest';
import {
  checkResolvedSpec,
  FeatureEncoder,
  fitStandardisation,
  resolveTowerSpec,
  towerInputSize,
} from './features.js';

function errorOf(run: () => unknown): Error {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}

describe('resolveTowerSpec', () => {
  it('fills the defaults: an id embedding of 64, hidden [128], output 64, relu', () => {
    expect(resolveTowerSpec(undefined, 'userTower')).toEqual({
      id: { dimension: 64, dropout: 0 },
      categorical: [],
      multiHot: [],
      numeric: [],
      hidden: [128],
      outputDimension: 64,
      activation: 'relu',
    });
  });

  it('turns id dropout on (0.1) when the tower has other features, and keeps the order of the inputs', () => {
    const spec = resolveTowerSpec(
      {
        id: { dimension: 8 },
        categorical: [{ column: 'genre', buckets: 32, dimension: 4 }],
        multiHot: [{ column: 'tags', buckets: 64, dimension: 6 }],
        numeric: [{ column: 'year' }],
        hidden: [],
      },
      'itemTower',
    );
    expect(spec.id).toEqual({ dimension: 8, dropout: 0.1 });
    expect(spec.categorical[0]).toEqual({ column: 'genre', buckets: 32, dimension: 4, hashSeed: 0 });
    expect(spec.multiHot[0]?.separator).toBe('|');
    expect(towerInputSize(spec)).toBe(8 + 4 + 6 + 1);
    expect(checkResolvedSpec(spec, 'weights.item.spec')).toEqual(spec);
    // Features only: no id embedding unless asked for.
    expect(resolveTowerSpec({ numeric: [{ column: 'year' }] }, 'itemTower').id).toBeNull();
  });

  it('names the field at fault', () => {
    const bad = errorOf(() =>
      resolveTowerSpec({ categorical: [{ column: 'genre', buckets: 0, dimension: 4 }] }, 'itemTower'),
    );
    expect(isRarefyError(bad, 'RAREFY_INVALID_ARGUMENT')).toBe(true);
    expect(bad.message).toMatch(
      /itemTower\.categorical\[0\]\.buckets: 0 is not a bucket count\. Fix: pass an integer/,
    );
    expect(
      errorOf(() => resolveTowerSpec({ id: { dimension: 4, dropout: 1 } }, 'userTower')).message,
    ).toMatch(/userTower\.id\.dropout: 1 is not a probability in \[0, 1\)/);
    expect(
      errorOf(() =>
        resolveTowerSpec(
          { categorical: [{ column: 'a', buckets: 2, dimension: 2 }], numeric: [{ column: 'a' }] },
          'itemTower',
        ),
      ).message,
    ).toMatch(/itemTower: uses the column "a" twice/);
    expect(errorOf(() => resolveTowerSpec({ hidden: [16, 0] }, 'userTower')).message).toMatch(
      /userTower\.hidden\[1\]: 0/,
    );
  });
});

describe('FeatureEncoder', () => {
  const spec = resolveTowerSpec(
    {
      id: { dimension: 4 },
      categorical: [{ column: 'genre', buckets: 97, dimension: 3, hashSeed: 7 }],
      multiHot: [{ column: 'tags', buckets: 101, dimension: 2 }],
      numeric: [{ column: 'year' }],
    },
    'itemTower',
  );
  const table = {
    ids: ['b', 'a', 'c'],
    columns: {
      genre: ['drama', 'comedy', null],
      tags: ['x|y', '', 'y'],
      year: [2000, 1990, null],
    },
  };

  it('encodes by id: hashed buckets, multi-hot CSR, standardised numbers, unknown ids on row 0', () => {
    const encoder = new FeatureEncoder(spec, ['a', 'b'], fitStandardisation(spec, table));
    expect(encoder.standardisation.means[0]).toBe(1995);
    expect(encoder.standardisation.sds[0]).toBe(5);
    const encoded = encoder.encode(['a', 'b', 'new', 'c'], table, 'itemFeatures');
    expect(Array.from(encoded.idRows)).toEqual([1, 2, 0, 0]);
    expect(Array.from(encoded.categorical[0] as Int32Array)).toEqual([
      hashFeature('comedy', 7, 97),
      hashFeature('drama', 7, 97),
      hashFeature('', 7, 97), // missing row
      hashFeature('', 7, 97), // null
    ]);
    const tags = encoded.multiHot[0];
    expect(Array.from(tags?.offsets ?? [])).toEqual([0, 0, 2, 2, 3]);
    expect(Array.from(tags?.buckets ?? [])).toEqual([
      hashFeature('x', 0, 101),
      hashFeature('y', 0, 101),
      hashFeature('y', 0, 101),
    ]);
    expect(Array.from(encoded.numeric)).toEqual([-1, 1, 0, 0]);
  });

  it('rejects tables that do not fit the spec', () => {
    const encoder = new FeatureEncoder(spec, [], fitStandardisation(spec, table));
    expect(
      errorOf(() => encoder.encode(['a'], { ids: ['a', 'a'], columns: table.columns }, 'itemFeatures'))
        .message,
    ).toMatch(/itemFeatures\.ids: the id "a" appears twice \(row 1\)/);
    expect(
      errorOf(() =>
        encoder.encode(['a'], { ids: ['a'], columns: { genre: ['x'], tags: ['y'] } }, 'itemFeatures'),
      ).message,
    ).toMatch(/itemFeatures\.columns: has no column "year" \(it has genre, tags\)\. Fix: add the column/);
    const short = errorOf(() =>
      encoder.encode(
        ['a'],
        { ids: ['a', 'b'], columns: { genre: ['x'], tags: ['y', 'z'], year: [1, 2] } },
        'itemFeatures',
      ),
    );
    expect(isRarefyError(short, 'RAREFY_DIMENSION_MISMATCH')).toBe(true);
    expect(short.message).toMatch(/itemFeatures\.columns\.genre: 1 values for 2 ids/);
    const text = errorOf(() =>
      encoder.encode(
        ['a'],
        { ids: ['a'], columns: { genre: ['x'], tags: ['y'], year: ['1999'] } },
        'itemFeatures',
      ),
    );
    expect(text.message).toMatch(/itemFeatures\.columns\.year: row 0 is "1999", not a finite number/);
  });
});
