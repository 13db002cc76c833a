import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';
import { defaultDemoDirectory, startDemo } from './demo.js';

const cliDirectory = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let directory: string;
let page: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'rarefy-demo-command-'));
  page = join(directory, 'dist');
  await mkdir(join(page, 'assets'), { recursive: true });
  await writeFile(
    join(page, 'index.html'),
    '<!doctype html><title>demo</title><script type="module" src="./assets/app.js"></script>',
  );
  await writeFile(join(page, 'assets', 'app.js'), 'document.title = "ready";');
  await writeFile(join(directory, 'secret.txt'), 'outside the page');
});
afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

describe('rarefy demo', () => {
  it('serves the built page on 127.0.0.1 with content types, and nothing outside its folder', async () => {
    const { server, dir } = await startDemo({ dir: page });
    try {
      expect(dir).toBe(page);
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const index = await fetch(server.url);
      expect(index.status).toBe(200);
      expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await index.text()).toContain('<title>demo</title>');
      const script = await fetch(new URL('assets/app.js', server.url));
      expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      for (const attempt of [
        '../secret.txt',
        '..%2Fsecret.txt',
        '%2e%2e/secret.txt',
        'assets/..%2f..%2fsecret.txt',
      ]) {
        const response = await fetch(`${server.url}${attempt}`);
        expect(response.status, attempt).toBe(404);
      }
      expect((await fetch(new URL('missing.js', server.url))).status).toBe(404);
      expect((await fetch(server.url, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
    }
  });

  it('fails with RAREFY_IO_ERROR and the fix when the page is not built', async () => {
    const io = createMemoryIo();
    const code = await run(['node', 'rarefy', 'demo', '--dir', directory, '--json'], io);
    expect(code).toBe(1);
    const error = JSON.parse(io.stdoutText()).error;
    expect(error.code).toBe('RAREFY_IO_ERROR');
    expect(error.message).toContain(`${directory}: no built demo page (index.html is missing)`);
    expect(error.message).toContain('run `pnpm build`');
  });

  it('finds the workspace demo (apps/demo/dist) by default', () => {
    expect(defaultDemoDirectory()).toBe(join(cliDirectory, '..', 'demo', 'dist'));
  });

  it('as a process: prints the URL, keeps serving until stopped', async () => {
    const child = spawn(
      process.execPath,
      [
        '--conditions=@rarefy/source',
        '--import',
        'tsx',
        join(cliDirectory, 'src', 'bin.ts'),
        'demo',
        '--dir',
        page,
        '--json',
      ],
      { cwd: cliDirectory, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          if (text.includes('\n')) resolve(text.split('\n')[0] as string);
        });
        child.once('exit', (status) =>
          reject(new Error(`rarefy demo exited with ${status} before printing its URL`)),
        );
      });
      const printed = JSON.parse(line) as { url: string; dir: string };
      expect(printed.dir).toBe(page);
      const response = await fetch(printed.url);
      expect(await response.text()).toContain('<title>demo</title>');
      // Still serving a moment later: the command waits for the server, not for its own end.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await fetch(printed.url)).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
