#!/usr/bin/env node
// Proves that each publishable package installs on its own: pack every package with pnpm (which
// rewrites workspace: ranges to versions), install the tarballs with npm into an empty temporary
// project, and import each package's public API there (and run the CLI's --version).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const pnpmVersion = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const workspaces = ['packages', 'apps'].flatMap((folder) =>
  readdirSync(join(root, folder), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, folder, entry.name)),
);
const publishable = workspaces
  .map((directory) => ({
    directory,
    manifest: JSON.parse(readFileSync(join(directory, 'package.json'), 'utf8')),
  }))
  .filter(({ manifest }) => !manifest.private);

const work = mkdtempSync(join(tmpdir(), 'rarefy-verify-'));
const run = (command, args, cwd) =>
  execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
try {
  const tarballs = [];
  for (const { directory, manifest } of publishable) {
    const output = run('npx', ['-y', `pnpm@${pnpmVersion}`, 'pack', '--pack-destination', work], directory);
    const tarball = output.trim().split('\n').pop();
    tarballs.push(tarball);
    console.log(`packed ${manifest.name} -> ${tarball}`);
  }
  const project = join(work, 'consumer');
  run('mkdir', ['-p', project], work);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  run('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', ...tarballs], project);
  const checks = publishable.map(({ manifest }) => {
    const subpaths = Object.keys(manifest.exports ?? {}).filter((key) => key !== './package.json');
    return subpaths.map((subpath) => `${manifest.name}${subpath === '.' ? '' : subpath.slice(1)}`);
  });
  const script = checks
    .flat()
    .map(
      (specifier, i) =>
        `const m${i} = await import('${specifier}'); const n${i} = Object.keys(m${i}).length;\n` +
        `if (n${i} === 0) throw new Error('${specifier} exports nothing');\n` +
        `console.log('imported ${specifier}: ' + n${i} + ' exports');`,
    )
    .join('\n');
  writeFileSync(join(project, 'check.mjs'), script);
  process.stdout.write(run('node', ['check.mjs'], project));
  const bins = publishable.flatMap(({ manifest }) => Object.keys(manifest.bin ?? {}));
  for (const bin of bins) {
    const version = run('npx', ['--no-install', bin, '--version'], project).trim();
    console.log(`ran ${bin} --version: ${version}`);
  }
  console.log(`verified ${publishable.length} packages in a fresh npm project`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
