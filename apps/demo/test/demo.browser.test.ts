// The built demo page in Debian's chromium (driven by playwright-core), served on 127.0.0.1 by the
// demo's own static server: the sampling view updates its numbers and plots when the sampling rate
// changes and shows exactly the library's numbers for the same seed; a dropped CSV with a malformed
// row shows the reader's error; the retrieval view loads an export folder. Screenshots go to
// test-results/screenshots/.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fitRareEvents } from '@rarefy/correction';
import { createRng, simulateRareEvents } from '@rarefy/sampling-core';
import { writeRetrievalExport } from '@rarefy/two-tower/node';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StaticServer, serveDirectory } from '../server/serve.js';
import type { ExperimentSettings } from '../src/experiment/experiment.js';
import { generatorOptions } from '../src/experiment/generator.js';
import type { DataSource } from '../src/experiment/protocol.js';
import { buildDemo, findChromium, launchChromium, NO_CHROMIUM_MESSAGE, screenshotPath } from './browser.js';

const chromium = findChromium();
if (chromium === null) console.warn(NO_CHROMIUM_MESSAGE);

/** Every figure on the page: drawn (a non-empty SVG box), with marks, a title, two axis titles with units and a caption. */
async function checkFigures(page: Page, selector: string): Promise<number> {
  const figures = await page.$$eval(`${selector} figure.rarefy-figure`, (nodes) =>
    nodes.map((node) => {
      const svg = node.querySelector('svg');
      const box = svg?.getBoundingClientRect();
      return {
        id: node.id,
        width: box?.width ?? 0,
        height: box?.height ?? 0,
        marks: node.querySelectorAll('.mark').length,
        title: node.querySelector('.chart-title')?.textContent ?? '',
        axes: [...node.querySelectorAll('.axis-label')].map((label) => label.textContent ?? ''),
        caption: node.querySelector('figcaption')?.textContent ?? '',
      };
    }),
  );
  for (const figure of figures) {
    expect(figure.width, figure.id).toBeGreaterThan(100);
    expect(figure.height, figure.id).toBeGreaterThan(100);
    expect(figure.marks, figure.id).toBeGreaterThan(0);
    expect(figure.title.length, figure.id).toBeGreaterThan(5);
    expect(figure.axes, figure.id).toHaveLength(2);
    for (const axis of figure.axes) expect(axis, figure.id).toMatch(/\(.+\)$/);
    expect(figure.caption.length, figure.id).toBeGreaterThan(20);
  }
  return figures.length;
}

async function value(page: Page, testId: string): Promise<number> {
  const text = await page.getAttribute(`[data-testid="${testId}"]`, 'data-value');
  if (text === null) throw new Error(`no data-value on [data-testid="${testId}"]`);
  return Number(text);
}

/** Waits until the page shows a finished run whose settings include `want`. */
async function waitForRun(page: Page, want: Partial<ExperimentSettings> = {}): Promise<void> {
  await page.waitForFunction(
    (expected) => {
      const results = document.getElementById('results');
      const status = document.getElementById('status');
      if (!results?.dataset.settings || status?.dataset.state !== 'done') return false;
      const settings = JSON.parse(results.dataset.settings) as Record<string, unknown>;
      return Object.entries(expected).every(([key, wanted]) => settings[key] === wanted);
    },
    want,
    { timeout: 30_000 },
  );
}

describe.skipIf(chromium === null)('the demo page in chromium', () => {
  let directory: string;
  let server: StaticServer;
  let browser: Browser;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    directory = await mkdtemp(join(tmpdir(), 'rarefy-demo-browser-'));
    await buildDemo(join(directory, 'dist'));
    server = await serveDirectory(join(directory, 'dist'));
    browser = await launchChromium(chromium as string);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await rm(directory, { recursive: true, force: true });
    expect(pageErrors).toEqual([]);
  });

  async function openPage(): Promise<Page> {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
    await page.goto(server.url);
    return page;
  }

  it("updates the plots and numbers when the sampling rate changes, and they are the library's for the same seed", async () => {
    const page = await openPage();
    await waitForRun(page);
    expect(await checkFigures(page, '#view-sampling')).toBe(5);
    const before = {
      kept: await value(page, 'kept-negatives'),
      pi: await page.innerHTML('#fig-pi'),
      reliability: await page.innerHTML('#fig-reliability'),
      slope: await value(page, 'corrected-x1'),
    };
    await page.screenshot({ path: await screenshotPath('demo-sampling-default.png'), fullPage: true });

    // 10^-1: keep 10% of the negatives instead of the default 2%.
    await page.locator('#sampling-rate').fill('-1');
    await waitForRun(page, { samplingRate: 0.1 });
    expect(await page.textContent('#sampling-rate-value')).toBe('10%');
    const after = {
      kept: await value(page, 'kept-negatives'),
      pi: await page.innerHTML('#fig-pi'),
      reliability: await page.innerHTML('#fig-reliability'),
      slope: await value(page, 'corrected-x1'),
    };
    expect(after.kept).toBeGreaterThan(3 * before.kept);
    expect(after.pi).not.toBe(before.pi);
    expect(after.reliability).not.toBe(before.reliability);
    expect(after.slope).not.toBe(before.slope);
    expect(await checkFigures(page, '#view-sampling')).toBe(5);
    await page.screenshot({ path: await screenshotPath('demo-sampling-rate-10.png'), fullPage: true });

    // The same computation in Node with the library, from what the page says it ran.
    const source = JSON.parse((await page.getAttribute('#results', 'data-source')) as string) as DataSource;
    const settings = JSON.parse(
      (await page.getAttribute('#results', 'data-settings')) as string,
    ) as ExperimentSettings;
    if (source.kind !== 'generator') throw new Error('the default source is the generator');
    expect(source.settings).toEqual({ rows: 100_000, positiveRate: 0.012, signal: 0.5, seed: 1 });
    const data = simulateRareEvents(generatorOptions(source.settings));
    const fit = fitRareEvents({
      x: data.x,
      y: data.y,
      design: settings.design,
      estimator: settings.estimator,
      pilotSize: settings.pilotSize,
      sampleSize: Math.round(settings.samplingRate * (data.x.rows - data.positives)),
      seed: settings.seed,
    });
    expect(await value(page, 'rows')).toBe(data.x.rows);
    expect(await value(page, 'positives')).toBe(data.positives);
    expect(after.kept).toBe(fit.sample.negatives);
    expect(await value(page, 'kept-positives')).toBe(fit.sample.positives);
    // Chromium and Node run the same V8 arithmetic (its own exp and log): the numbers agree to the
    // last bit; 1e-12 relative leaves room for nothing but a different libm.
    for (const [j, name] of fit.names.entries()) {
      const shown = await value(page, `corrected-${name}`);
      expect(Math.abs(shown - (fit.coefficients[j] as number))).toBeLessThanOrEqual(
        1e-12 * Math.abs(fit.coefficients[j] as number),
      );
    }
    await page.close();
  });

  it('shows the reader’s error, with line and fix, for a dropped CSV with a malformed row; then runs a good one', async () => {
    const page = await openPage();
    await waitForRun(page);
    const drop = async (name: string, text: string) => {
      const dataTransfer = await page.evaluateHandle(
        ({ name: fileName, text: content }) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([content], fileName, { type: 'text/csv' }));
          return transfer;
        },
        { name, text },
      );
      await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer });
    };
    await drop('broken.csv', 'clicked,a,b\n1,0.5,2\n0,1.5,-1\n0,not-a-number,3\n1,2,2\n');
    const error = page.locator('#error');
    await error.waitFor({ state: 'visible', timeout: 15_000 });
    const message = await error.textContent();
    expect(message).toContain('RAREFY_PARSE_ERROR');
    expect(message).toContain('broken.csv, line 4: column "a": "not-a-number" is not a number');
    expect(message).toContain('Fix: write plain decimal numbers');
    expect(await page.getAttribute('#status', 'data-state')).toBe('error');
    await page.screenshot({ path: await screenshotPath('demo-csv-error.png'), fullPage: false });

    // A well-formed file: 3,000 rows, about 18% positives, label column guessed from its name.
    const rng = createRng(5);
    const lines = ['clicked,age,score'];
    for (let i = 0; i < 3000; i++) {
      const age = rng.normal();
      const score = rng.normal();
      const clicked = rng.nextFloat64() < 1 / (1 + Math.exp(-(-1.8 + 0.8 * age - 0.6 * score))) ? 1 : 0;
      lines.push(`${clicked},${age},${score}`);
    }
    await drop('clicks.csv', `${lines.join('\n')}\n`);
    await page.waitForFunction(
      () => document.querySelector('[data-testid="data-name"]')?.textContent === 'clicks.csv',
      null,
      {
        timeout: 30_000,
      },
    );
    expect(await page.isHidden('#error')).toBe(true);
    expect(await page.inputValue('#label-column')).toBe('clicked');
    expect(await value(page, 'rows')).toBe(3000);
    expect(await checkFigures(page, '#view-sampling')).toBe(5);
    await page.close();
  });

  it('loads a two-tower export folder and lists the nearest items', async () => {
    const dimension = 4;
    const ids = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];
    // Unit vectors at angles 0, 10, 80, 90 and 180 degrees in the first plane: alpha's neighbours are
    // beta, gamma, delta, epsilon in that order.
    const angles = [0, 10, 80, 90, 180].map((degrees) => (degrees * Math.PI) / 180);
    const embeddings = new Float32Array(ids.length * dimension);
    angles.forEach((angle, i) => {
      embeddings[i * dimension] = Math.cos(angle);
      embeddings[i * dimension + 1] = Math.sin(angle);
    });
    const folder = join(directory, 'tiny-export');
    await writeRetrievalExport(folder, { dimension, temperature: 0.1, items: { ids, embeddings } });
    const page = await openPage();
    await page.click('#tab-retrieval');
    await page.setInputFiles('#model-a', folder);
    await page.waitForSelector('#retrieval-status[data-state="done"]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid="model-0-items"]')).toBe('5');
    await page.fill('#query-id', 'alpha');
    await page.fill('#top-k', '3');
    const shown = await page.$$eval('[data-testid="neighbours-0"] tbody tr td:nth-child(2)', (cells) =>
      cells.map((cell) => cell.textContent),
    );
    expect(shown).toEqual(['beta', 'gamma', 'delta']);
    await page.setInputFiles('#interactions', {
      name: 'interactions.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from('user,item\nu1,alpha\nu2,alpha\nu3,alpha\nu1,beta\nu2,gamma\nu3,delta\n'),
    });
    await page.waitForSelector('#fig-popularity figure', { timeout: 15_000 });
    expect(await checkFigures(page, '#view-retrieval')).toBe(1);
    await page.screenshot({ path: await screenshotPath('demo-retrieval.png'), fullPage: true });
    await page.close();
  });
});
