import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';

/** The demo app's folder. */
export const DEMO_DIRECTORY = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where browser tests save screenshots: `test-results/` at the repository root (ignored by git). */
export const SCREENSHOT_DIRECTORY = resolve(DEMO_DIRECTORY, '..', '..', 'test-results', 'screenshots');

/** Where Debian's chromium package installs the browser (`.ci/run` installs it when missing). */
const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/**
 * The chromium the browser tests drive: `RAREFY_CHROMIUM` when set, else Debian's `/usr/bin/chromium`
 * (or another usual path), else null.
 *
 * @returns the executable's path, or null when there is none
 * @example
 * ```ts
 * const chromium = findChromium();
 * ```
 */
export function findChromium(): string | null {
  const fromEnvironment = process.env.RAREFY_CHROMIUM;
  if (fromEnvironment) return existsSync(fromEnvironment) ? fromEnvironment : null;
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path)) ?? null;
}

/** Why the browser tests are skipped where there is no chromium (printed by the tests). */
export const NO_CHROMIUM_MESSAGE =
  'browser tests skipped: no chromium at /usr/bin/chromium (install it with `apt-get install -y chromium`, ' +
  'as .ci/run does, or point RAREFY_CHROMIUM at a Chromium executable)';

/**
 * Launches the headless chromium found by {@link findChromium} through playwright-core (which
 * downloads no browser of its own).
 *
 * @param executablePath - the browser to launch
 * @returns the browser
 * @example
 * ```ts
 * const browser = await launchChromium(findChromium() as string);
 * ```
 */
export async function launchChromium(executablePath: string): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath,
    headless: true,
    // Root in CI containers: chromium's sandbox needs user namespaces that containers often lack.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}

/**
 * Builds the demo page with Vite into `outDir` (the same build as `pnpm build`, so a test never
 * runs against a stale dist/).
 *
 * @param outDir - where to write the page
 * @returns the folder written
 * @example
 * ```ts
 * const dist = await buildDemo(join(tmpdir(), 'demo-dist'));
 * ```
 */
export async function buildDemo(outDir: string): Promise<string> {
  const { build } = await import('vite');
  await build({
    root: DEMO_DIRECTORY,
    configFile: join(DEMO_DIRECTORY, 'vite.config.ts'),
    logLevel: 'error',
    build: { outDir, emptyOutDir: true, sourcemap: false },
  });
  return outDir;
}

/**
 * The path of a screenshot under test-results/screenshots/, creating the folder.
 *
 * @param name - the file name (`demo-sampling.png`)
 * @returns the path to write
 */
export async function screenshotPath(name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIRECTORY, { recursive: true });
  return join(SCREENSHOT_DIRECTORY, name);
}
