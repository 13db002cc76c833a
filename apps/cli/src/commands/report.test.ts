import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { calibrationReport, predictProbability } from '@rarefy/correction';
import { readCsvMatrix } from '@rarefy/data-io/node';
import { findChromium, launchChromium, NO_CHROMIUM_MESSAGE, screenshotPath } from '@rarefy/demo/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

let directory: string;
const files = {
  data: '',
  quickstart: '',
  fit: '',
  sample: '',
  retrieval: '',
  retrievalUncorrected: '',
};

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** Runs a command with --json and saves its one JSON object, as a user would with `> file.json`. */
async function saveJson(name: string, args: string[]): Promise<string> {
  const result = await rarefy([...args, '--json']);
  expect(result.code, result.stderr).toBe(0);
  const path = join(directory, name);
  await writeFile(path, result.stdout);
  return path;
}

// What `rarefy eval-retrieval --json` prints per issue 5's contract (metrics, baselines.popularity),
// with the optional parts the report also draws: recall by popularity bucket and the loss history.
const evalRetrieval = {
  model: 'in-batch + logQ',
  metrics: { 'recall@10': 0.061, 'recall@50': 0.17, 'recall@100': 0.262, 'ndcg@10': 0.041 },
  baselines: {
    popularity: { 'recall@10': 0.032, 'recall@50': 0.11, 'recall@100': 0.159 },
    'item-kNN': { metrics: { 'recall@10': 0.064, 'recall@50': 0.19, 'recall@100': 0.279 } },
  },
  byPopularity: [
    { bucket: 'head', 'recall@100': 0.41, items: 120 },
    { bucket: 'torso', 'recall@100': 0.22, items: 900 },
    { bucket: 'tail', 'recall@100': 0.07, items: 8000 },
  ],
  history: [
    { epoch: 1, loss: 6.1 },
    { epoch: 2, loss: 5.4 },
    { epoch: 3, loss: 5.2 },
  ],
  examplesPerSecond: 12000,
  seconds: 40,
};

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-report-'));
  files.data = join(directory, 'a10.csv');
  // 40,000 rows at beta0 = -4: about 3% positives, enough for a 400-row pilot.
  const simulated = await rarefy([
    'simulate',
    '--n',
    '40000',
    '--seed',
    '2',
    '--intercept',
    '-4',
    '--out',
    files.data,
  ]);
  expect(simulated.code).toBe(0);
  files.quickstart = await saveJson('quickstart.json', [
    'quickstart',
    '--rows',
    '60000',
    '--pilot-size',
    '300',
    '--sample-size',
    '800',
    '--replications',
    '2',
    '--holdout',
    '20000',
  ]);
  files.fit = await saveJson('fit-optA.json', [
    'fit',
    '--data',
    files.data,
    '--label',
    'y',
    '--pilot-size',
    '400',
    '--sample-size',
    '1500',
    '--seed',
    '5',
    '--diagnostics',
  ]);
  files.sample = await saveJson('sample-optL.json', [
    'sample',
    '--data',
    files.data,
    '--label',
    'y',
    '--design',
    'optL',
    '--pilot-size',
    '400',
    '--sample-size',
    '1500',
    '--out',
    join(directory, 'sample.csv'),
  ]);
  files.retrieval = join(directory, 'eval-logq.json');
  await writeFile(files.retrieval, JSON.stringify(evalRetrieval));
  files.retrievalUncorrected = join(directory, 'eval-no-logq.json');
  await writeFile(
    files.retrievalUncorrected,
    JSON.stringify({
      model: 'in-batch, no correction',
      metrics: { 'recall@10': 0.05, 'recall@50': 0.14, 'recall@100': 0.2 },
      baselines: { popularity: evalRetrieval.baselines.popularity },
      byPopularity: {
        head: { 'recall@100': 0.5 },
        torso: { 'recall@100': 0.18 },
        tail: { 'recall@100': 0.02 },
      },
    }),
  );
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('what quickstart and fit --diagnostics print for the report', () => {
  it('quickstart: reliability bins, one fit per design with intervals, and pi of every negative', async () => {
    const parsed = JSON.parse(await readFile(files.quickstart, 'utf8'));
    expect(parsed.calibration.evaluatedOn).toBe('20,000 fresh rows (unsampled)');
    for (const model of parsed.calibration.models) {
      expect(model.reliability).toHaveLength(15);
      expect(model.reliability.reduce((sum: number, bin: { count: number }) => sum + bin.count, 0)).toBe(
        20_000,
      );
    }
    expect(parsed.designFits.map((fit: { design: string }) => fit.design)).toEqual([
      'uniform',
      'proportional',
      'optL',
      'optA',
      'LCC',
    ]);
    for (const fit of parsed.designFits) {
      for (const name of Object.keys(fit.coefficients)) {
        expect(fit.lower[name]).toBeLessThan(fit.coefficients[name]);
        expect(fit.upper[name]).toBeGreaterThan(fit.coefficients[name]);
      }
    }
    const pi = parsed.piDistribution;
    expect(pi.design).toBe('optA');
    expect(pi.keptNegatives + pi.droppedNegatives).toBe(parsed.rows - parsed.positives);
    expect(pi.kept.reduce((a: number, b: number) => a + b, 0)).toBe(pi.keptNegatives);
    const optA = parsed.designFits.find((fit: { design: string }) => fit.design === 'optA');
    expect(pi.keptNegatives).toBe(optA.sample.negatives);
  });

  it("fit --diagnostics: both models' calibration on every row equals calibrationReport's, and pi covers every negative", async () => {
    const parsed = JSON.parse(await readFile(files.fit, 'utf8'));
    const { calibration, piDistribution } = parsed.diagnostics;
    expect(calibration.evaluatedOn).toBe(`all 40,000 rows of ${files.data} (unsampled)`);
    const [corrected, naive] = calibration.models;
    expect(corrected.model).toBe('optA sample, log-odds corrected');
    // The library's own numbers for the printed coefficients (JSON keeps doubles exactly).
    const data = await readCsvMatrix(files.data, { label: 'y' });
    const beta = Float64Array.from(Object.values(parsed.coefficients) as number[]);
    const expected = calibrationReport(data.y, predictProbability(data.x, beta));
    expect(corrected.calibrationInTheLarge).toBe(expected.calibrationInTheLarge);
    expect(corrected.reliability).toEqual(expected.reliability);
    // 40,000 rows with ~1,200 positives: the corrected ratio is within its noise of 1; the naive fit
    // on a sample with about half positives overshoots several times.
    expect(Math.abs(corrected.calibrationInTheLarge - 1)).toBeLessThan(0.15);
    expect(naive.calibrationInTheLarge).toBeGreaterThan(3);
    expect(piDistribution.keptNegatives).toBe(parsed.sample.negatives);
    expect(piDistribution.keptNegatives + piDistribution.droppedNegatives).toBe(parsed.population.negatives);
  });

  it('fit without --diagnostics prints no diagnostics (the default stays as fast as before)', async () => {
    const result = await rarefy([
      'fit',
      '--data',
      files.data,
      '--label',
      'y',
      '--pilot-size',
      '400',
      '--json',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).diagnostics).toBeUndefined();
  });
});

/** Every <figure> of an HTML text with what a reader needs, by id. */
function figuresOf(
  html: string,
): Array<{ id: string; title: string; axes: string[]; caption: string; marks: number }> {
  return [
    ...html.matchAll(
      /<figure class="rarefy-figure" id="([^"]+)"[^>]*data-marks="(\d+)">([\s\S]*?)<\/figure>/g,
    ),
  ].map((match) => {
    const body = match[3] as string;
    return {
      id: match[1] as string,
      marks: Number(match[2]),
      title: /class="chart-title">([^<]*)</.exec(body)?.[1] ?? '',
      axes: [...body.matchAll(/class="axis-label">([^<]*)</g)].map((axis) => axis[1] as string),
      caption: /<figcaption>([^<]*)<\/figcaption>/.exec(body)?.[1] ?? '',
    };
  });
}

describe('rarefy report', () => {
  let html = '';
  let out = '';

  beforeAll(async () => {
    out = join(directory, 'report.html');
    const result = await rarefy([
      'report',
      '--input',
      files.quickstart,
      '--input',
      files.fit,
      '--input',
      files.sample,
      '--input',
      files.retrieval,
      '--input',
      files.retrievalUncorrected,
      '--out',
      out,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed.out).toBe(out);
    expect(parsed.inputs.map((input: { kind: string }) => input.kind)).toEqual([
      'quickstart',
      'fit',
      'sample',
      'eval-retrieval',
      'eval-retrieval',
    ]);
    html = await readFile(out, 'utf8');
    expect(parsed.bytes).toBe(Buffer.byteLength(html));
    expect(parsed.figures.map((figure: { id: string }) => figure.id)).toEqual(
      figuresOf(html).map((figure) => figure.id),
    );
  });

  it('draws every figure the inputs allow, each with a title, axis labels with units and a caption', () => {
    const figures = figuresOf(html);
    expect(figures.map((figure) => figure.id)).toEqual([
      'fig-reliability-quickstart',
      'fig-reliability-fit-opta',
      'fig-pi-quickstart',
      'fig-pi-fit-opta',
      'fig-coefficients-quickstart-slopes',
      'fig-coefficients-quickstart-intercept',
      'fig-coefficients-fits-slopes',
      'fig-coefficients-fits-intercept',
      'fig-emse',
      'fig-sample-sizes',
      'fig-recall',
      'fig-recall-by-popularity',
      'fig-loss',
    ]);
    for (const figure of figures) {
      expect(figure.title.length, figure.id).toBeGreaterThan(5);
      expect(figure.axes, figure.id).toHaveLength(2);
      for (const axis of figure.axes) expect(axis, figure.id).toMatch(/\(.+\)$/);
      expect(figure.caption.length, figure.id).toBeGreaterThan(20);
      expect(figure.marks, figure.id).toBeGreaterThan(0);
    }
    // Reliability of the fit: two models x 15 bins.
    expect(figures.find((figure) => figure.id === 'fig-reliability-fit-opta')?.marks).toBe(30);
    // Recall@K: 10, 50, 100 for both models and the two baselines (item-kNN's metrics are nested).
    expect(figures.find((figure) => figure.id === 'fig-recall')?.marks).toBe(12);
    expect(html).toContain('in-batch + logQ');
    expect(html).toContain('item-kNN');
  });

  it('is self-contained: no script, no external URL, no web font', () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link/i);
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|@font-face|url\((?!#)/i);
  });

  it('replaces the output atomically and leaves no temporary file', async () => {
    await writeFile(out, 'old report');
    const again = await rarefy(['report', '--input', files.fit, '--out', out]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^wrote .*report\.html: 4 figure\(s\) from 1 result\(s\)/);
    expect(await readFile(out, 'utf8')).toMatch(/^<!doctype html>/);
    expect((await readdir(directory)).filter((name) => name.includes('.rarefy-tmp-'))).toEqual([]);
  });

  it('names the file and the fix for inputs it cannot use, and writes nothing then', async () => {
    const notJson = join(directory, 'progress.txt');
    await writeFile(notJson, 'pass 1 of 2 ...');
    const bad = await rarefy([
      'report',
      '--input',
      notJson,
      '--out',
      join(directory, 'never.html'),
      '--json',
    ]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout).error).toMatchObject({ code: 'RAREFY_PARSE_ERROR', input: notJson });
    const failed = join(directory, 'failed.json');
    await writeFile(
      failed,
      JSON.stringify({ error: { code: 'RAREFY_NO_POSITIVES', message: 'x', input: null } }),
    );
    const error = await rarefy(['report', '--input', failed, '--out', join(directory, 'never.html')]);
    expect(error.code).toBe(1);
    expect(error.stderr).toContain('holds the RAREFY_NO_POSITIVES of a command that failed');
    const other = join(directory, 'other.json');
    await writeFile(other, JSON.stringify({ rows: 3 }));
    expect(
      (await rarefy(['report', '--input', other, '--out', join(directory, 'never.html')])).stderr,
    ).toContain('not the --json result of rarefy quickstart, fit, sample or eval-retrieval (its keys: rows)');
    const wrongType = join(directory, 'wrong.json');
    await writeFile(wrongType, JSON.stringify({ ...evalRetrieval, history: [{ epoch: 1, loss: 'high' }] }));
    expect(
      (await rarefy(['report', '--input', wrongType, '--out', join(directory, 'never.html')])).stderr,
    ).toContain('history[0].loss is "high", not a number');
    const missingFolder = await rarefy([
      'report',
      '--input',
      files.fit,
      '--out',
      join(directory, 'no', 'such', 'r.html'),
    ]);
    expect(missingFolder.code).toBe(1);
    expect(missingFolder.stderr).toContain('RAREFY_IO_ERROR');
    expect(
      (await readdir(directory)).filter((name) => name === 'never.html' || name.includes('.rarefy-tmp-')),
    ).toEqual([]);
    const usage = await rarefy(['report', '--out', join(directory, 'never.html')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("required option '--input <file>'");
  });

  const chromium = findChromium();
  if (chromium === null) console.warn(NO_CHROMIUM_MESSAGE);
  it.skipIf(chromium === null)(
    'opens in chromium with the network disabled and renders every figure',
    async () => {
      const full = join(directory, 'full-report.html');
      const written = await rarefy([
        'report',
        '--input',
        files.quickstart,
        '--input',
        files.fit,
        '--input',
        files.sample,
        '--input',
        files.retrieval,
        '--input',
        files.retrievalUncorrected,
        '--out',
        full,
      ]);
      expect(written.code).toBe(0);
      const browser = await launchChromium(chromium as string);
      try {
        const context = await browser.newContext({ offline: true, viewport: { width: 1280, height: 900 } });
        const requested: string[] = [];
        await context.route('**/*', (route) => {
          const url = route.request().url();
          if (url.startsWith('file:')) return route.continue();
          requested.push(url);
          return route.abort();
        });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (error) => problems.push(error.message));
        page.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        await page.goto(pathToFileURL(full).href);
        const drawn = await page.$$eval('figure.rarefy-figure', (figures) =>
          figures.map((figure) => {
            const box = figure.querySelector('svg')?.getBoundingClientRect();
            const marks = [...figure.querySelectorAll('.mark')].filter((mark) => {
              // An SVG shape's own box (the CLI's tsconfig has no DOM lib to name SVGGraphicsElement).
              const rect = (mark as unknown as { getBBox(): { width: number; height: number } }).getBBox();
              return rect.width > 0 || rect.height > 0;
            }).length;
            return { id: figure.id, width: box?.width ?? 0, height: box?.height ?? 0, marks };
          }),
        );
        expect(drawn).toHaveLength(13);
        for (const figure of drawn) {
          expect(figure.width, figure.id).toBeGreaterThan(300);
          expect(figure.height, figure.id).toBeGreaterThan(150);
          expect(figure.marks, figure.id).toBeGreaterThan(0);
        }
        expect(requested).toEqual([]);
        expect(problems).toEqual([]);
        await page.screenshot({ path: await screenshotPath('report.png'), fullPage: true });
        await context.close();
      } finally {
        await browser.close();
      }
    },
  );
});
