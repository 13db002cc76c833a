import { RarefyError, RarefyInputError, requireArgument } from './errors.js';
import type { DesignMatrix } from './matrix.js';
import { type Rng, sampleWithoutReplacement } from './rng.js';
import { countClasses, invalidLabel, requireBothClasses } from './validate.js';

/**
 * A balanced case-control pilot draw (ALGORITHMS.md A.6) and the facts needed to correct a model
 * fitted on it.
 */
export interface PilotDraw {
  /** Original row indices: the negatives first (ascending), then the positives (ascending). */
  readonly rows: Int32Array;
  /** n0: negatives drawn. */
  readonly negatives: number;
  /** n1: positives drawn. */
  readonly positives: number;
  /** N0: negatives in the population. */
  readonly populationNegatives: number;
  /** N1: positives in the population. */
  readonly populationPositives: number;
  /** r0 = n0 / N0, the negatives' pilot sampling rate. */
  readonly negativeRate: number;
  /** r1 = n1 / N1, the positives' pilot sampling rate. */
  readonly positiveRate: number;
  /** log(r1 / r0): subtract it from the intercept of a model fitted on the pilot. */
  readonly logOddsShift: number;
  /** The class taken whole because it had fewer rows than asked (only under `takeWholeClass`). */
  readonly wholeClass: 'positives' | 'negatives' | null;
}

/** Options of {@link drawBalancedPilot} and {@link PilotReservoir}. */
export interface PilotOptions {
  /**
   * When a class has fewer rows than the pilot asks of it, take the whole class (recorded in
   * `wholeClass`) instead of throwing `RAREFY_PILOT_TOO_LARGE`. Default false.
   */
  takeWholeClass?: boolean;
}

interface PilotSizes {
  readonly negatives: number;
  readonly positives: number;
  readonly wholeClass: 'positives' | 'negatives' | null;
}

function requirePilotSize(pilotSize: number): void {
  requireArgument(
    Number.isInteger(pilotSize) && pilotSize >= 2 && pilotSize < 2 ** 31,
    'pilotSize',
    `${pilotSize} is not an integer >= 2`,
    'pass a pilot size of at least 2 (one row of each class); 1000 is the usual default',
  );
}

/** Per-class sizes: floor(pilotSize / 2) negatives, ceil(pilotSize / 2) positives, then the checks. */
function resolvePilotSizes(
  pilotSize: number,
  populationNegatives: number,
  populationPositives: number,
  options: PilotOptions,
): PilotSizes {
  const askedNegatives = Math.floor(pilotSize / 2);
  const askedPositives = pilotSize - askedNegatives;
  const shortNegatives = populationNegatives < askedNegatives;
  const shortPositives = populationPositives < askedPositives;
  if (!shortNegatives && !shortPositives) {
    return { negatives: askedNegatives, positives: askedPositives, wholeClass: null };
  }
  const takeWhole = options.takeWholeClass === true;
  if (shortNegatives && shortPositives) {
    throw new RarefyInputError(
      'RAREFY_PILOT_TOO_LARGE',
      `pilotSize: ${pilotSize} asks for ${askedNegatives} negatives and ${askedPositives} positives, but the data has only ${populationNegatives} negatives and ${populationPositives} positives`,
      `pass a smaller pilot size (--pilot-size), at most ${2 * Math.min(populationNegatives, populationPositives)}; the whole data set cannot serve as a pilot`,
      { input: 'pilotSize', pilotSize, populationNegatives, populationPositives },
    );
  }
  const className = shortNegatives ? 'negatives' : 'positives';
  const size = shortNegatives ? populationNegatives : populationPositives;
  const asked = shortNegatives ? askedNegatives : askedPositives;
  if (!takeWhole) {
    throw new RarefyInputError(
      'RAREFY_PILOT_TOO_LARGE',
      `pilotSize: ${pilotSize} asks for ${asked} ${className}, but the data has only ${size} ${className}`,
      `pass a smaller pilot size (--pilot-size ${2 * size} or less), or set takeWholeClass to take all ${size} ${className}`,
      { input: 'pilotSize', pilotSize, class: className, size, asked },
    );
  }
  return shortNegatives
    ? { negatives: populationNegatives, positives: askedPositives, wholeClass: 'negatives' }
    : { negatives: askedNegatives, positives: populationPositives, wholeClass: 'positives' };
}

function pilotDraw(
  rows: Int32Array,
  sizes: PilotSizes,
  populationNegatives: number,
  populationPositives: number,
): PilotDraw {
  const negativeRate = sizes.negatives / populationNegatives;
  const positiveRate = sizes.positives / populationPositives;
  return {
    rows,
    negatives: sizes.negatives,
    positives: sizes.positives,
    populationNegatives,
    populationPositives,
    negativeRate,
    positiveRate,
    logOddsShift: Math.log(positiveRate / negativeRate),
    wholeClass: sizes.wholeClass,
  };
}

/**
 * Draws a balanced case-control pilot (ALGORITHMS.md A.6): floor(pilotSize / 2) negatives and
 * ceil(pilotSize / 2) positives uniformly without replacement (an odd size gives the extra row to the
 * positives, the rarer class). The negatives are drawn first, then the positives, from the same
 * generator. A model fitted on the pilot has its log odds shifted by `logOddsShift` = log(r1 / r0);
 * subtract it from the intercept.
 *
 * @param labels - 0/1 label per row of the population
 * @param pilotSize - total pilot rows asked (>= 2)
 * @param rng - the generator
 * @param options - `takeWholeClass`: take a class whole when it is smaller than asked
 * @returns the drawn rows (negatives, then positives, each ascending) and the sampling rates
 * @throws RarefyInputError `RAREFY_PILOT_TOO_LARGE`, `RAREFY_NO_POSITIVES`, `RAREFY_NO_NEGATIVES`,
 *   `RAREFY_INVALID_LABEL`
 * @example
 * ```ts
 * const draw = drawBalancedPilot(y, 1000, createRng(1));
 * const xPilot = selectRows(x, draw.rows);
 * // fit on xPilot, then: intercept -= draw.logOddsShift
 * ```
 */
export function drawBalancedPilot(
  labels: Uint8Array,
  pilotSize: number,
  rng: Rng,
  options: PilotOptions = {},
): PilotDraw {
  requirePilotSize(pilotSize);
  const counts = countClasses(labels);
  requireBothClasses(counts);
  const populationNegatives = counts.negatives;
  const populationPositives = counts.positives;
  const sizes = resolvePilotSizes(pilotSize, populationNegatives, populationPositives, options);
  const n0 = sizes.negatives;
  const n1 = sizes.positives;
  // Ranks within each class (ascending); a class taken whole needs no draw.
  const wholeNegatives = n0 === populationNegatives;
  const wholePositives = n1 === populationPositives;
  const negativeRanks = wholeNegatives ? null : sampleWithoutReplacement(populationNegatives, n0, rng);
  const positiveRanks = wholePositives ? null : sampleWithoutReplacement(populationPositives, n1, rng);
  // One pass maps the ranks to row indices.
  const rows = new Int32Array(n0 + n1);
  let negativeCount = 0;
  let positiveCount = 0;
  let takenNegatives = 0;
  let takenPositives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 0) {
      if (
        takenNegatives < n0 &&
        (negativeRanks === null || negativeRanks[takenNegatives] === negativeCount)
      ) {
        rows[takenNegatives++] = i;
      }
      negativeCount++;
    } else {
      if (
        takenPositives < n1 &&
        (positiveRanks === null || positiveRanks[takenPositives] === positiveCount)
      ) {
        rows[n0 + takenPositives++] = i;
      }
      positiveCount++;
    }
  }
  return pilotDraw(rows, sizes, populationNegatives, populationPositives);
}

/** One class's reservoir (Li's Algorithm L): row indices and copies of their feature values. */
class ClassReservoir {
  readonly capacity: number;
  readonly columns: number;
  readonly rows: Int32Array;
  readonly values: Float64Array;
  /** Rows of this class offered so far. */
  seen = 0;
  /** 0-based position (within the class) of the next row to enter once the reservoir is full. */
  private next = Number.POSITIVE_INFINITY;
  private w = 1;

  constructor(capacity: number, columns: number) {
    this.capacity = capacity;
    this.columns = columns;
    this.rows = new Int32Array(capacity);
    this.values = new Float64Array(capacity * columns);
  }

  /** Offers row `row` (values at `data[offset .. offset + columns)`). */
  offer(row: number, data: Float64Array, offset: number, rng: Rng): void {
    const t = this.seen++;
    const k = this.capacity;
    if (t < k) {
      this.store(t, row, data, offset);
      if (t === k - 1) {
        // Full: draw W and the gap to the first replacement. 1 - u is in (0, 1], so log is finite.
        this.w = Math.exp(Math.log(1 - rng.nextFloat64()) / k);
        this.next = t + 1 + Math.floor(Math.log(1 - rng.nextFloat64()) / Math.log1p(-this.w));
      }
      return;
    }
    if (t !== this.next) return;
    this.store(rng.nextInt(k), row, data, offset);
    this.w *= Math.exp(Math.log(1 - rng.nextFloat64()) / k);
    this.next = t + 1 + Math.floor(Math.log(1 - rng.nextFloat64()) / Math.log1p(-this.w));
  }

  private store(slot: number, row: number, data: Float64Array, offset: number): void {
    const d = this.columns;
    this.rows[slot] = row;
    this.values.set(data.subarray(offset, offset + d), slot * d);
  }

  /** The occupied slots ordered by row index. */
  orderedSlots(): Int32Array {
    const filled = Math.min(this.seen, this.capacity);
    const slots = new Int32Array(filled);
    for (let s = 0; s < filled; s++) slots[s] = s;
    const rows = this.rows;
    return slots.sort((a, b) => (rows[a] as number) - (rows[b] as number));
  }
}

/**
 * A balanced pilot drawn from a stream of batches in one pass (ALGORITHMS.md A.6): one reservoir
 * per class (Li's Algorithm L, which draws random numbers only when a row enters), which also counts
 * the classes. floor(pilotSize / 2) negatives and ceil(pilotSize / 2) positives are kept; the feature
 * values of rows entering a reservoir are copied, so batches may be reused after `addBatch` returns.
 * Random numbers are drawn in row order, so how the stream is cut into batches does not change the
 * draw for a given seed. Every row of a class is in the result with the same probability n_k / N_k.
 *
 * @example
 * ```ts
 * const reservoir = new PilotReservoir(1000, x.columns, createRng(1));
 * for await (const batch of batches) reservoir.addBatch(batch.x, batch.y, batch.firstRow);
 * const { draw, x: xPilot, y: yPilot } = reservoir.result();
 * ```
 */
export class PilotReservoir {
  private readonly pilotSize: number;
  private readonly columns: number;
  private readonly rng: Rng;
  private readonly options: PilotOptions;
  private readonly negativeReservoir: ClassReservoir;
  private readonly positiveReservoir: ClassReservoir;
  private names: readonly string[] | null = null;
  private intercept = false;
  private nextRow = 0;

  /**
   * @param pilotSize - total pilot rows asked (>= 2)
   * @param columns - columns of every batch's design matrix
   * @param rng - the generator (consumed as rows enter the reservoirs)
   * @param options - `takeWholeClass`: accept a class smaller than asked, taking it whole
   */
  constructor(pilotSize: number, columns: number, rng: Rng, options: PilotOptions = {}) {
    requirePilotSize(pilotSize);
    requireArgument(
      Number.isInteger(columns) && columns >= 1,
      'columns',
      `${columns} is not a positive integer`,
      'pass the number of columns of the design matrix batches',
    );
    this.pilotSize = pilotSize;
    this.columns = columns;
    this.rng = rng;
    this.options = options;
    const negatives = Math.floor(pilotSize / 2);
    this.negativeReservoir = new ClassReservoir(negatives, columns);
    this.positiveReservoir = new ClassReservoir(pilotSize - negatives, columns);
  }

  /**
   * Offers a batch of rows to the reservoirs.
   *
   * @param x - the batch's design matrix (`columns` columns)
   * @param labels - 0/1 label per row of the batch
   * @param firstRow - the stream-wide index of the batch's first row; batches come in row order
   * @returns nothing
   * @example
   * ```ts
   * reservoir.addBatch(batch.x, batch.y, rowsSoFar);
   * ```
   */
  addBatch(x: DesignMatrix, labels: Uint8Array, firstRow: number): void {
    if (x.columns !== this.columns || x.data.length !== x.rows * x.columns) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `x: a batch of ${x.rows} x ${x.columns} with ${x.data.length} values, for a reservoir of ${this.columns} columns`,
        'pass batches with the columns the reservoir was built for, and rows * columns values',
        { input: 'x', rows: x.rows, columns: x.columns },
      );
    }
    if (labels.length !== x.rows) {
      throw new RarefyError(
        'RAREFY_DIMENSION_MISMATCH',
        `labels: ${labels.length} labels for a batch of ${x.rows} rows`,
        'pass one label per row of the batch',
        { input: 'labels', labels: labels.length, rows: x.rows },
      );
    }
    requireArgument(
      Number.isInteger(firstRow) && firstRow >= this.nextRow,
      'firstRow',
      `${firstRow} is before the end of the previous batch (${this.nextRow})`,
      'pass batches in row order, each firstRow at least the previous firstRow plus its row count',
    );
    if (this.names === null) {
      this.names = x.names;
      this.intercept = x.intercept;
    }
    const d = this.columns;
    const data = x.data;
    const rng = this.rng;
    const negatives = this.negativeReservoir;
    const positives = this.positiveReservoir;
    for (let i = 0, offset = 0; i < x.rows; i++, offset += d) {
      const label = labels[i];
      if (label === 0) negatives.offer(firstRow + i, data, offset, rng);
      else if (label === 1) positives.offer(firstRow + i, data, offset, rng);
      else throw invalidLabel('labels', firstRow + i, label);
    }
    this.nextRow = firstRow + x.rows;
  }

  /**
   * The pilot drawn from everything offered so far (the reservoirs are left as they are).
   *
   * @returns the draw (as {@link drawBalancedPilot} reports it) and the pilot rows' design matrix
   *   and labels, in the order of `draw.rows`
   * @throws RarefyInputError `RAREFY_NO_POSITIVES`, `RAREFY_NO_NEGATIVES`, `RAREFY_PILOT_TOO_LARGE`
   * @example
   * ```ts
   * const { draw, x, y } = reservoir.result();
   * ```
   */
  result(): { draw: PilotDraw; x: DesignMatrix; y: Uint8Array } {
    const populationNegatives = this.negativeReservoir.seen;
    const populationPositives = this.positiveReservoir.seen;
    requireBothClasses({ negatives: populationNegatives, positives: populationPositives });
    const sizes = resolvePilotSizes(this.pilotSize, populationNegatives, populationPositives, this.options);
    const d = this.columns;
    const total = sizes.negatives + sizes.positives;
    const rows = new Int32Array(total);
    const data = new Float64Array(total * d);
    const y = new Uint8Array(total);
    let k = 0;
    for (const [reservoir, label] of [
      [this.negativeReservoir, 0],
      [this.positiveReservoir, 1],
    ] as const) {
      for (const slot of reservoir.orderedSlots()) {
        rows[k] = reservoir.rows[slot] as number;
        data.set(reservoir.values.subarray(slot * d, slot * d + d), k * d);
        y[k] = label;
        k++;
      }
    }
    const names = this.names ?? [];
    return {
      draw: pilotDraw(rows, sizes, populationNegatives, populationPositives),
      x: { data, rows: total, columns: d, names, intercept: this.intercept },
      y,
    };
  }
}
