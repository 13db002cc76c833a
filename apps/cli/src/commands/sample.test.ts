import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DuckDbEngine,
  designMatrixColumns,
  openBatches,
  parseCsv,
  readCsvMatrix,
  sampleStream,
  writeCsvFile,
} from '@rarefy/data-io/node';
import { LogisticPilot, NeuralPilot } from '@rarefy/pilot-model';
import { OnnxPilot, saveModel, selectBackend } from '@rarefy/pilot-model/node';
import {
  type ColumnBatch,
  keepProbability,
  logisticDesignScores,
  simulateRareEvents,
} from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
let dataPath: string;
beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-sample-'));
  dataPath = join(directory, 'a10.csv');
  // 40,000 rows at beta0 = -4: about 3% positives (about 1,200).
  const io = createMemoryIo();
  const code = await run(
    ['node', 'rarefy', 'simulate', '--n', '40000', '--seed', '4', '--intercept', '-4', '--out', dataPath],
    io,
  );
  expect(code).toBe(0);
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** A fresh empty folder. */
async function folder(name: string): Promise<string> {
  const path = join(directory, name);
  await mkdir(path);
  return path;
}

interface SampleJson {
  sample: { positives: number; negatives: number };
  scale: { method: string; value: number; histogramBins: number; refinedExpectedNegatives?: number };
  rowsRead: number;
  seconds: number;
  expected: { negatives: number; positives: number };
  out: string;
}

describe('rarefy sample', () => {
  it('--json prints one object, and the file holds exactly the kept rows with pi, offset and weight', async () => {
    const out = join(await folder('json'), 'sample.csv');
    const result = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'y',
      '--design',
      'optL',
      '--sample-size',
      '1500',
      '--pilot-size',
      '400',
      '--seed',
      '9',
      '--out',
      out,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout) as SampleJson;
    for (const key of ['sample', 'scale', 'rowsRead', 'seconds', 'expected', 'out'])
      expect(parsed).toHaveProperty(key);
    expect(parsed.rowsRead).toBe(40_000);
    expect(parsed.out).toBe(out);
    expect(parsed.scale.method).toBe('histogram');
    expect(parsed.scale.value).toBeGreaterThan(0);
    expect(Math.abs(parsed.expected.negatives - 1500) / 1500).toBeLessThan(0.005);
    expect(Math.abs(parsed.sample.negatives - parsed.expected.negatives)).toBeLessThan(
      4 * Math.sqrt(parsed.expected.negatives),
    );

    const table = parseCsv(await readFile(out, 'utf8'));
    expect(table.columns).toEqual(['y', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6', 'pi', 'offset', 'weight']);
    let positives = 0;
    let negatives = 0;
    for (const row of table.rows) {
      const [y, , , , , , , piText, offsetText, weightText] = row;
      const pi = Number(piText);
      const offset = Number(offsetText);
      const weight = Number(weightText);
      expect(pi > 0 && pi <= 1).toBe(true);
      expect(offset).toBe(0 - Math.log(pi));
      if (y === '1') {
        positives++;
        expect(weight).toBe(1);
      } else {
        negatives++;
        expect(weight).toBe(1 / pi);
      }
    }
    expect({ positives, negatives }).toEqual(parsed.sample);
    expect(await readdir(join(directory, 'json'))).toEqual(['sample.csv']);
  });

  it('--refine and --rate report their scale methods; text output for people otherwise', async () => {
    const dir = await folder('methods');
    const refined = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'y',
      '--design',
      'optA',
      '--sample-size',
      '1000',
      '--pilot-size',
      '400',
      '--refine',
      '--out',
      join(dir, 'refined.csv'),
      '--json',
    ]);
    expect(refined.code).toBe(0);
    const parsedRefined = JSON.parse(refined.stdout) as SampleJson;
    expect(parsedRefined.scale.method).toBe('refine');
    expect(Math.abs(parsedRefined.expected.negatives - 1000) / 1000).toBeLessThan(1e-6);
    expect(parsedRefined.scale.refinedExpectedNegatives).toBeGreaterThan(0);

    const rate = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'y',
      '--design',
      'uniform',
      '--rate',
      '0.05',
      '--out',
      join(dir, 'rate.csv'),
    ]);
    expect(rate.code).toBe(0);
    expect(rate.stdout).toContain('kept');
    expect(rate.stdout).toContain('rate 0.05');
    expect(rate.stdout).toContain(join(dir, 'rate.csv'));
  });

  it('exits 1 naming the file, line and column of a malformed value, and writes nothing', async () => {
    const dir = await folder('malformed');
    const lines = (await readFile(dataPath, 'utf8')).split('\n').slice(0, 3001);
    lines[2500] = '0,0.5,abc,0.1,0.2,0.3,0.4';
    const bad = join(dir, 'bad.csv');
    await writeFile(bad, `${lines.join('\n')}\n`);
    const out = join(dir, 'out.csv');
    const result = await rarefy(['sample', '--data', bad, '--label', 'y', '--design', 'optL', '--out', out]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(bad);
    expect(result.stderr).toContain('line 2501');
    expect(result.stderr).toContain('"x2"');
    expect(await readdir(dir)).toEqual(['bad.csv']);
  });

  it('exits 1 for a missing label column and for a missing file, writing nothing', async () => {
    const dir = await folder('missing');
    const out = join(dir, 'out.csv');
    const noLabel = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'clicked',
      '--out',
      out,
      '--json',
    ]);
    expect(noLabel.code).toBe(1);
    expect((JSON.parse(noLabel.stdout) as { error: { message: string } }).error.message).toContain('clicked');
    const noFile = await rarefy(['sample', '--data', join(dir, 'nope.csv'), '--label', 'y', '--out', out]);
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain('nope.csv');
    expect(await readdir(dir)).toEqual([]);
  });

  it('writes .parquet through the DuckDB engine, with the same rows as the JSON reports', async () => {
    const dir = await folder('parquet');
    const out = join(dir, 'sample.parquet');
    const result = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'y',
      '--design',
      'proportional',
      '--sample-size',
      '800',
      '--pilot-size',
      '400',
      '--out',
      out,
      '--json',
    ]);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as SampleJson;
    expect(await readdir(dir)).toEqual(['sample.parquet']);
    const engine = await DuckDbEngine.open({ threads: 1 });
    try {
      const [counts] = await engine.query(
        `SELECT count(*) FILTER (WHERE y = 1) AS positives, count(*) FILTER (WHERE y = 0) AS negatives, ` +
          `max(abs("offset" + ln(pi))) AS offsetError FROM read_parquet('${out}')`,
      );
      expect(Number(counts?.positives)).toBe(parsed.sample.positives);
      expect(Number(counts?.negatives)).toBe(parsed.sample.negatives);
      expect(Number(counts?.offsetError)).toBeLessThan(1e-12);
    } finally {
      await engine.close();
    }
  });

  it('leaves no output file when killed with SIGKILL midway', async () => {
    const dir = await folder('killed');
    const big = join(dir, 'big.csv');
    const made = await rarefy([
      'simulate',
      '--n',
      '300000',
      '--seed',
      '6',
      '--intercept',
      '-4',
      '--out',
      big,
    ]);
    expect(made.code).toBe(0);
    const out = join(dir, 'sample.csv');
    const repository = fileURLToPath(new URL('../../../../', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        '--conditions=@rarefy/source',
        '--import',
        'tsx',
        'apps/cli/src/bin.ts',
        'sample',
        '--data',
        big,
        '--label',
        'y',
        '--design',
        'optL',
        '--sample-size',
        '5000',
        '--refine',
        '--out',
        out,
      ],
      { cwd: repository, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    // Kill after the first progress line, or 300 ms after the temporary output file appears.
    const started = Date.now();
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (): void => {
        if (!done) {
          done = true;
          clearInterval(poll);
          resolve();
        }
      };
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('\n')) finish();
      });
      child.on('exit', () => {
        if (!done) reject(new Error(`the run ended before it was killed: ${stderr}`));
      });
      const poll = setInterval(async () => {
        const names = await readdir(dir);
        if (names.some((name) => name.startsWith('.rarefy-tmp-'))) setTimeout(finish, 300);
        else if (Date.now() - started > 60_000) finish();
      }, 25);
    });
    child.kill('SIGKILL');
    const { signal } = await exited;
    expect(signal).toBe('SIGKILL');
    const names = await readdir(dir);
    expect(names).not.toContain('sample.csv');
    expect(names.filter((name) => !name.startsWith('.rarefy-tmp-'))).toEqual(['big.csv']);
    // It was killed midway: its temporary file (which SIGKILL leaves behind) is there.
    expect(names.some((name) => name.startsWith('.rarefy-tmp-'))).toBe(true);
  }, 90_000);
});

describe('rarefy sample --emit-sql and the DuckDB engine', () => {
  const recipe = [
    '--label',
    'y',
    '--design',
    'optA',
    '--sample-size',
    '1200',
    '--pilot-size',
    '400',
    '--seed',
    '7',
  ];

  it('--emit-sql prints only the SQL, whose pi per row equals the in-process pi when DuckDB runs it', async () => {
    const result = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...recipe,
      '--emit-sql',
      '--dialect',
      'duckdb',
      '--input-table',
      'events',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith(';\n')).toBe(true);
    const lines = result.stdout.trimEnd().split('\n');
    const statement = lines.filter((line) => !line.startsWith('--'));
    // Comment lines only before the statement, which starts with SELECT or WITH.
    expect(lines.slice(0, lines.length - statement.length).every((line) => line.startsWith('-- '))).toBe(
      true,
    );
    expect(statement[0]).toMatch(/^(SELECT|WITH)\b/);
    expect(statement.filter((line) => line.trim() === '')).toEqual([]);

    // The same constants in-process (same seed: the same pilot and scale).
    const constants = await sampleStream(await openBatches(dataPath, { label: 'y' }), {
      label: 'y',
      design: 'optA',
      sampleSize: 1200,
      pilotSize: 400,
      seed: 7,
      write: () => {},
    });
    const coefficients = Float64Array.from(constants.pilot?.coefficients ?? []);
    const optAInverse = Float64Array.from(constants.pilot?.optAInverse ?? []);
    const all = await readCsvMatrix(dataPath, { label: 'y' });
    const scores = logisticDesignScores(all.x, coefficients, 'optA', { optAInverse });
    let expected = 0;
    let variance = 0;
    for (let i = 0; i < all.x.rows; i++) {
      if (all.y[i] === 1) continue;
      const pi = keepProbability(scores[i] as number, constants.solution);
      expected += pi;
      variance += pi * (1 - pi);
    }

    const engine = await DuckDbEngine.open({ threads: 2 });
    try {
      await engine.query(`CREATE VIEW events AS SELECT * FROM read_csv('${dataPath}', header = true)`);
      const kept = await engine.query(result.stdout.trimEnd().replace(/;$/, ''));
      const negatives = kept.filter((row) => Number(row.y) === 0).length;
      expect(Math.abs(negatives - expected)).toBeLessThan(4 * Math.sqrt(variance));
      const names = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
      const data = new Float64Array(kept.length * 7);
      kept.forEach((row, i) => {
        data[i * 7] = 1;
        names.forEach((name, j) => {
          data[i * 7 + j + 1] = row[name] as number;
        });
      });
      const keptScores = logisticDesignScores(
        { data, rows: kept.length, columns: 7, names: ['(Intercept)', ...names], intercept: true },
        coefficients,
        'optA',
        { optAInverse },
      );
      kept.forEach((row, i) => {
        const pi = keepProbability(keptScores[i] as number, constants.solution);
        expect(Math.abs((row.pi as number) - pi) / pi).toBeLessThan(1e-12);
      });
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('samples a Parquet file through DuckDB by default: --json counts match the file, every row has pi, offset, weight', async () => {
    const dir = await folder('duckdb-parquet');
    const data = simulateRareEvents({ rows: 30_000, seed: 12, intercept: -4 });
    const csv = join(dir, 'data.csv');
    await writeCsvFile(csv, designMatrixColumns(data.x, data.y, { rowId: 'id' }));
    const parquet = join(dir, 'data.parquet');
    const engine = await DuckDbEngine.open({ threads: 2 });
    try {
      await engine.copyToParquet(`SELECT * FROM read_csv('${csv}', header = true)`, parquet);
      const out = join(dir, 's.parquet');
      const result = await rarefy([
        'sample',
        '--data',
        parquet,
        ...recipe,
        '--features',
        'x1,x2,x3,x4,x5,x6',
        '--row-key',
        'id',
        '--out',
        out,
        '--json',
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const parsed = JSON.parse(result.stdout) as SampleJson & { engine: string };
      expect(parsed.engine).toBe('duckdb');
      expect(parsed.rowsRead).toBe(30_000);
      expect(parsed.scale.method).toBe('histogram');
      expect(Math.abs(parsed.expected.negatives - 1200) / 1200).toBeLessThan(0.005);
      expect(Math.abs(parsed.sample.negatives - 1200)).toBeLessThan(4 * Math.sqrt(1200));
      const [counts] = await engine.query(
        `SELECT count(*) FILTER (WHERE y = 1) AS positives, count(*) FILTER (WHERE y = 0) AS negatives, ` +
          `count(*) FILTER (WHERE pi IS NULL OR "offset" IS NULL OR weight IS NULL OR pi <= 0 OR pi > 1) AS missing, ` +
          `max(abs("offset" + ln(pi))) AS offsetError, max(abs(weight * pi - 1)) FILTER (WHERE y = 0) AS weightError ` +
          `FROM read_parquet('${out}')`,
      );
      expect(Number(counts?.positives)).toBe(parsed.sample.positives);
      expect(Number(counts?.negatives)).toBe(parsed.sample.negatives);
      expect(Number(counts?.positives)).toBe(Number(data.y.reduce((sum, v) => sum + v, 0)));
      expect(Number(counts?.missing)).toBe(0);
      expect(Number(counts?.offsetError)).toBeLessThan(1e-12);
      expect(Number(counts?.weightError)).toBeLessThan(1e-12);
      expect((await readdir(dir)).sort()).toEqual(['data.csv', 'data.parquet', 's.parquet']);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('--scale-sample-rows: the DuckDB scale solved on a seeded subsample, with its standard error in --json and the text; usage errors', async () => {
    const dir = await folder('duckdb-scale-sample');
    const data = simulateRareEvents({ rows: 30_000, seed: 13, intercept: -4 });
    const csv = join(dir, 'data.csv');
    await writeCsvFile(csv, designMatrixColumns(data.x, data.y, { rowId: 'id' }));
    const parquet = join(dir, 'data.parquet');
    const engine = await DuckDbEngine.open({ threads: 2 });
    try {
      await engine.copyToParquet(`SELECT * FROM read_csv('${csv}', header = true)`, parquet);
    } finally {
      await engine.close();
    }
    const negatives = data.y.length - data.y.reduce((sum, v) => sum + v, 0);
    const sampled = (rows: string, json = true) =>
      rarefy([
        'sample',
        '--data',
        parquet,
        ...recipe,
        '--row-key',
        'id',
        '--scale-sample-rows',
        rows,
        '--out',
        join(dir, 's.parquet'),
        ...(json ? ['--json'] : []),
      ]);
    interface ScaleSampleJson extends SampleJson {
      scaleSample: {
        rowsPerClass: number | null;
        negatives: { fraction: number; rows: number; expected: number; standardError: number };
        positives: unknown;
      };
    }
    const sub = await sampled('5000');
    expect(sub.stderr).toBe('');
    expect(sub.code).toBe(0);
    const parsed = JSON.parse(sub.stdout) as ScaleSampleJson;
    expect(parsed.scaleSample.rowsPerClass).toBe(5000);
    expect(parsed.scaleSample.negatives.fraction).toBe(5000 / negatives);
    expect(parsed.scaleSample.negatives.standardError).toBeGreaterThan(0);
    expect(parsed.scaleSample.negatives.expected).toBeCloseTo(parsed.expected.negatives, 6);
    expect(parsed.scaleSample.positives).toBeNull();
    expect(Math.abs(parsed.expected.negatives - 1200) / 1200).toBeLessThan(0.005);
    const all = JSON.parse((await sampled('all')).stdout) as ScaleSampleJson;
    expect(all.scaleSample).toMatchObject({
      rowsPerClass: null,
      negatives: { fraction: 1, rows: negatives, standardError: 0 },
    });
    const text = await sampled('5000', false);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /expected 1200 ± [\d.]+ from solving the scale on [\d,]+ negatives \(realised sd [\d.]+\)/,
    );
    for (const bad of ['0', '-3', '1.5', 'some']) {
      const refused = await sampled(bad);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('--scale-sample-rows');
    }
    const inProcess = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...recipe,
      '--scale-sample-rows',
      '5000',
      '--out',
      join(dir, 'in-process.csv'),
    ]);
    expect(inProcess.code).toBe(2);
    expect(inProcess.stderr).toContain('--scale-sample-rows applies to --engine duckdb');
  }, 60_000);

  it('usage errors (exit 2): unknown dialect or engine, --emit-sql without --input-table or with --out, no --out', async () => {
    const emit = ['sample', '--data', dataPath, '--label', 'y', '--emit-sql'];
    const dialect = await rarefy([...emit, '--dialect', 'oracle', '--input-table', 't']);
    expect(dialect.code).toBe(2);
    expect(dialect.stderr).toContain('oracle');
    const noTable = await rarefy(emit);
    expect(noTable.code).toBe(2);
    expect(noTable.stderr).toContain('--input-table');
    const withOut = await rarefy([...emit, '--input-table', 't', '--out', join(directory, 'x.csv')]);
    expect(withOut.code).toBe(2);
    expect(withOut.stderr).toContain('--out');
    expect(withOut.stdout).toBe('');
    const noOut = await rarefy(['sample', '--data', dataPath, '--label', 'y']);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain('--out');
    const engine = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'y',
      '--engine',
      'spark',
      '--out',
      'x.csv',
    ]);
    expect(engine.code).toBe(2);
  });

  it('Trino and BigQuery without --row-key: exit 1 naming --row-key, before reading the data', async () => {
    for (const dialect of ['trino', 'bigquery']) {
      const result = await rarefy([
        'sample',
        '--data',
        join(directory, 'does-not-exist.csv'),
        '--label',
        'y',
        '--emit-sql',
        '--dialect',
        dialect,
        '--input-table',
        'logs.clicks',
      ]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('--row-key');
    }
    const withKey = await rarefy([
      'sample',
      '--data',
      dataPath,
      '--label',
      'y',
      '--design',
      'proportional',
      '--emit-sql',
      '--dialect',
      'trino',
      '--input-table',
      'hive.logs.clicks',
      '--row-key',
      'event_id',
    ]);
    expect(withKey.code).toBe(0);
    expect(withKey.stdout).toContain('FROM "hive"."logs"."clicks"');
    expect(withKey.stdout).toContain('xxhash64');
  });
});

describe('rarefy sample --pilot', () => {
  interface PilotJson extends SampleJson {
    pilot: { coefficients: number[] | null; names: string[] } | null;
    pilotModel?: {
      path: string;
      kind: string;
      runtime: string;
      runtimeReason: string;
      runtimeMilliseconds?: Record<string, number>;
    };
    engine: string;
    scale: SampleJson['scale'] & { uniformRate: number };
  }
  const base = (design: string) => [
    '--label',
    'y',
    '--design',
    design,
    '--sample-size',
    '1200',
    '--pilot-size',
    '400',
    '--seed',
    '21',
  ];

  /** Saves the pilot a run fitted as a logistic model folder. */
  async function savePilotOf(run: PilotJson, dir: string): Promise<string> {
    const pilot = run.pilot;
    if (pilot?.coefficients == null) throw new Error('the run fitted no pilot');
    await saveModel(dir, LogisticPilot.fromCoefficients(pilot.names, pilot.coefficients), { label: 'y' });
    return dir;
  }

  /** Rows of a sample CSV keyed by their text without pi, offset and weight, with their pi. */
  async function keptRows(path: string): Promise<Map<string, number>> {
    const table = parseCsv(await readFile(path, 'utf8'));
    const pi = table.columns.indexOf('pi');
    const kept = new Map<string, number>();
    for (const row of table.rows) kept.set(row.slice(0, pi).join(','), Number(row[pi]));
    return kept;
  }

  it.each(['optL', 'proportional'])(
    'a saved logistic pilot gives the sample of the same pilot fitted in-process (%s, same seed)',
    async (design) => {
      const dir = await folder(`saved-pilot-${design}`);
      const fitted = await rarefy([
        'sample',
        '--data',
        dataPath,
        ...base(design),
        '--out',
        join(dir, 'fitted.csv'),
        '--json',
      ]);
      expect(fitted.code).toBe(0);
      const fittedJson = JSON.parse(fitted.stdout) as PilotJson;
      const model = await savePilotOf(fittedJson, join(dir, 'pilot'));
      const given = await rarefy([
        'sample',
        '--data',
        dataPath,
        ...base(design),
        '--pilot',
        model,
        '--out',
        join(dir, 'given.csv'),
        '--json',
      ]);
      expect(given.stderr).toBe('');
      expect(given.code).toBe(0);
      const givenJson = JSON.parse(given.stdout) as PilotJson;
      expect(givenJson.pilotModel).toEqual({
        path: model,
        kind: 'logistic',
        runtime: 'in-process',
        runtimeReason:
          'a logistic model is scored in-process: exact float64, and faster than a runtime round trip',
        recommendedEstimator: 'log-odds',
        recommendedEstimatorReason: expect.stringMatching(/^a logistic pilot is in the final model’s family/),
        alpha: 0,
        alphaSource: 'default for this pilot',
      });
      expect(givenJson.sample).toEqual(fittedJson.sample);
      expect(givenJson.scale.value).toBeCloseTo(fittedJson.scale.value, 12);
      const a = await keptRows(join(dir, 'fitted.csv'));
      const b = await keptRows(join(dir, 'given.csv'));
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [row, pi] of a)
        expect(Math.abs((b.get(row) as number) - pi)).toBeLessThan(1e-12 * pi + 1e-15);
    },
    60_000,
  );

  it('an ONNX pilot drives the design: each kept negative has pi = c * p with p from onnxruntime', async () => {
    const dir = await folder('onnx-pilot');
    const fitted = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...base('proportional'),
      '--out',
      join(dir, 'fitted.csv'),
      '--json',
    ]);
    const model = await savePilotOf(JSON.parse(fitted.stdout) as PilotJson, join(dir, 'pilot'));
    const onnxPath = join(dir, 'pilot.onnx');
    expect((await rarefy(['export', '--model', model, '--out', onnxPath])).code).toBe(0);
    const out = join(dir, 'onnx.csv');
    const result = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...base('proportional'),
      '--pilot',
      onnxPath,
      // Given explicitly: a pilot outside the logistic family would otherwise sample with alpha 0.3.
      '--alpha',
      '0',
      '--out',
      out,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as PilotJson;
    expect(parsed.pilotModel).toMatchObject({
      kind: 'onnx',
      runtime: 'onnxruntime',
      runtimeReason: 'a .onnx file is scored by onnxruntime',
      recommendedEstimator: 'ipw',
      alpha: 0,
      alphaSource: 'given',
    });
    expect(Math.abs(parsed.expected.negatives - 1200) / 1200).toBeLessThan(0.005);

    const table = parseCsv(await readFile(out, 'utf8'));
    const column = (name: string) => table.columns.indexOf(name);
    const features = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
    const negatives = table.rows.filter((row) => row[column('y')] === '0');
    expect(negatives.length).toBe(parsed.sample.negatives);
    const batch: ColumnBatch = {
      schema: features.map((name) => ({ name, type: 'number' as const })),
      rows: negatives.length,
      firstRow: 0,
      columns: Object.fromEntries(
        features.map((name) => [name, Float64Array.from(negatives, (row) => Number(row[column(name)]))]),
      ),
    };
    const onnx = await OnnxPilot.create(onnxPath);
    try {
      const p = await onnx.predictProbability(batch);
      negatives.forEach((row, i) => {
        const pi = Number(row[column('pi')]);
        const expected = Math.min(1, Math.max(1e-6, parsed.scale.value * (p[i] as number)));
        expect(Math.abs(pi - expected)).toBeLessThan(1e-12 * expected);
      });
    } finally {
      await onnx.release();
    }
  }, 60_000);

  it('a saved NeuralPilot drives the design on the faster runtime, and either runtime gives the same sample', async () => {
    const dir = await folder('neural-pilot');
    await selectBackend();
    const features = ['x1', 'x2', 'x3', 'x4', 'x5', 'x6'];
    const network = new NeuralPilot({
      numeric: features,
      categorical: [],
      hidden: [8],
      activation: 'relu',
      seed: 4,
    });
    const reader = await openBatches(dataPath, { label: 'y' });
    for await (const batch of reader.batches()) {
      await network.train({ batch, label: 'y', epochs: 1, batchSize: 256, learningRate: 0.01 });
      break;
    }
    const model = join(dir, 'network');
    await saveModel(model, network, { label: 'y' });
    network.dispose();
    const sampled = async (runtime: string | null) => {
      const out = join(dir, `${runtime ?? 'auto'}.csv`);
      const result = await rarefy([
        'sample',
        '--data',
        dataPath,
        ...base('optL'),
        '--pilot',
        model,
        ...(runtime === null ? [] : ['--runtime', runtime]),
        '--out',
        out,
        '--json',
      ]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      return { json: JSON.parse(result.stdout) as PilotJson, kept: await keptRows(out) };
    };
    const auto = await sampled(null);
    // Not a logistic model: IPW is recommended, and without --alpha the design mixes in 30% uniform.
    expect(auto.json.pilotModel).toMatchObject({
      path: model,
      kind: 'neural',
      recommendedEstimator: 'ipw',
      alpha: 0.3,
      alphaSource: 'default for this pilot',
    });
    expect(auto.json.scale).toMatchObject({ alpha: 0.3 });
    expect(['tfjs', 'onnxruntime']).toContain(auto.json.pilotModel?.runtime);
    expect(auto.json.pilotModel?.runtimeReason).toMatch(/^measured on [\d,]+ rows of the first batch/);
    expect(Object.keys(auto.json.pilotModel?.runtimeMilliseconds ?? {}).sort()).toEqual([
      'onnxruntime',
      'tfjs',
    ]);
    const tfjs = await sampled('tfjs');
    const onnx = await sampled('onnxruntime');
    expect(tfjs.json.pilotModel).toMatchObject({ runtime: 'tfjs', runtimeReason: "forced (runtime 'tfjs')" });
    expect(onnx.json.pilotModel).toMatchObject({ runtime: 'onnxruntime' });
    // The two runtimes' probabilities agree to float32 rounding: the same rows are kept, with the same
    // pi to 1e-4 relative (the scale c is solved on a histogram of the scores, so it follows the last
    // bits of the probabilities too).
    console.log(`scale c: tfjs ${tfjs.json.scale.value}, onnxruntime ${onnx.json.scale.value}`);
    expect([...onnx.kept.keys()]).toEqual([...tfjs.kept.keys()]);
    let worst = 0;
    for (const [row, pi] of tfjs.kept)
      worst = Math.max(worst, Math.abs((onnx.kept.get(row) as number) / pi - 1));
    console.log(`pi, onnxruntime vs tfjs: max relative difference ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-4);
    expect([...auto.kept.keys()]).toEqual([...tfjs.kept.keys()]);
  }, 60_000);

  it('names the pilot columns the data lacks (exit 1)', async () => {
    const dir = await folder('pilot-missing');
    const model = join(dir, 'pilot');
    await saveModel(model, LogisticPilot.fromCoefficients(['(Intercept)', 'x1', 'clicks'], [-4, 0.5, 0.1]));
    const result = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...base('optL'),
      '--pilot',
      model,
      '--out',
      join(dir, 's.csv'),
      '--json',
    ]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).error.message).toMatch(/"clicks"/);
    expect(await readdir(dir)).toEqual(['pilot']);
  });

  it('DuckDB: a logistic pilot goes into the SQL (same sample as with the engine pilot); an ONNX one is refused', async () => {
    const dir = await folder('duckdb-pilot');
    const data = simulateRareEvents({ rows: 20_000, seed: 13, intercept: -4 });
    const csv = join(dir, 'data.csv');
    await writeCsvFile(csv, designMatrixColumns(data.x, data.y, { rowId: 'id' }));
    const engine = ['--engine', 'duckdb', '--row-key', 'id', '--features', 'x1,x2,x3,x4,x5,x6'];
    const own = await rarefy([
      'sample',
      '--data',
      csv,
      ...base('optL'),
      ...engine,
      '--out',
      join(dir, 'own.csv'),
      '--json',
    ]);
    expect(own.code).toBe(0);
    const ownJson = JSON.parse(own.stdout) as PilotJson;
    const model = await savePilotOf(ownJson, join(dir, 'pilot'));
    const given = await rarefy([
      'sample',
      '--data',
      csv,
      ...base('optL'),
      ...engine,
      '--pilot',
      model,
      '--out',
      join(dir, 'given.csv'),
      '--json',
    ]);
    expect(given.stderr).toBe('');
    expect(given.code).toBe(0);
    const givenJson = JSON.parse(given.stdout) as PilotJson;
    expect(givenJson.engine).toBe('duckdb');
    expect(givenJson.sample).toEqual(ownJson.sample);
    expect(givenJson.scale.value).toBeCloseTo(ownJson.scale.value, 10);
    const a = await keptRows(join(dir, 'own.csv'));
    const b = await keptRows(join(dir, 'given.csv'));
    expect(new Set(b.keys())).toEqual(new Set(a.keys()));

    const onnxPath = join(dir, 'pilot.onnx');
    expect((await rarefy(['export', '--model', model, '--out', onnxPath])).code).toBe(0);
    const refused = await rarefy([
      'sample',
      '--data',
      csv,
      ...base('optL'),
      ...engine,
      '--pilot',
      onnxPath,
      '--out',
      join(dir, 'x.csv'),
      '--json',
    ]);
    expect(refused.code).toBe(1);
    const error = (JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe('RAREFY_INVALID_ARGUMENT');
    expect(error.message).toMatch(/cannot be written into SQL/);
    expect(error.message).toMatch(/--engine in-process/);
    const optA = await rarefy([
      'sample',
      '--data',
      csv,
      ...base('optA'),
      ...engine,
      '--pilot',
      model,
      '--out',
      join(dir, 'x.csv'),
    ]);
    expect(optA.code).toBe(1);
    expect(optA.stderr).toMatch(/--engine in-process/);
    expect((await readdir(dir)).sort()).toEqual(['data.csv', 'given.csv', 'own.csv', 'pilot', 'pilot.onnx']);
  }, 60_000);

  it('--emit-sql with a logistic pilot bakes in its coefficients; with an ONNX pilot it is refused', async () => {
    const dir = await folder('emit-pilot');
    const model = join(dir, 'pilot');
    await saveModel(
      model,
      LogisticPilot.fromCoefficients(
        ['(Intercept)', 'x1', 'x2', 'x3', 'x4', 'x5', 'x6'],
        [-4.25, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5],
      ),
    );
    const emitted = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...base('optL'),
      '--pilot',
      model,
      '--emit-sql',
      '--input-table',
      'clicks',
    ]);
    expect(emitted.code).toBe(0);
    expect(emitted.stdout).toContain('-4.25');
    const onnxPath = join(dir, 'pilot.onnx');
    expect((await rarefy(['export', '--model', model, '--out', onnxPath])).code).toBe(0);
    const refused = await rarefy([
      'sample',
      '--data',
      dataPath,
      ...base('optL'),
      '--pilot',
      onnxPath,
      '--emit-sql',
      '--input-table',
      'clicks',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot be written into SQL/);
  });
});
