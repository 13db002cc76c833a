import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogisticPilot } from '@rarefy/pilot-model';
import { saveModel } from '@rarefy/pilot-model/node';
import { sigmoid } from '@rarefy/sampling-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryIo, run } from '../index.js';

const REPO = resolve(fileURLToPath(new URL('../../../..', import.meta.url)));
const BIN = join(REPO, 'apps/cli/src/bin.ts');
const TOKEN = 'serve-test-token-7f3a';

let root: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rarefy-serve-'));
  await saveModel(join(root, 'v1'), LogisticPilot.fromCoefficients(['(Intercept)', 'x1', 'x2'], [-4, 1, -1]));
  await saveModel(
    join(root, 'v2'),
    LogisticPilot.fromCoefficients(['(Intercept)', 'x1', 'x2'], [-2, 0.5, 0.5]),
  );
});

afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

async function rarefy(args: string[]) {
  const io = createMemoryIo();
  const code = await run(['node', 'rarefy', ...args], io);
  return { code, stdout: io.stdoutText(), stderr: io.stderrText() };
}

/** Resolves with the first stdout line of the child, or rejects after `seconds`. */
function firstLine(child: ChildProcess, seconds: number, stderr: () => string): Promise<string> {
  return new Promise((resolveLine, reject) => {
    let buffered = '';
    const timer = setTimeout(
      () => reject(new Error(`no line within ${seconds} s; stderr: ${stderr()}`)),
      seconds * 1000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const end = buffered.indexOf('\n');
      if (end >= 0) {
        clearTimeout(timer);
        resolveLine(buffered.slice(0, end));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening; stderr: ${stderr()}`));
    });
  });
}

/** Resolves with the child's exit code and signal, or rejects after `seconds`. */
function exited(
  child: ChildProcess,
  seconds: number,
): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolveExit, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still running ${seconds} s after SIGTERM`)),
      seconds * 1000,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolveExit({ code, signal });
    });
  });
}

describe('rarefy serve', () => {
  it.each([
    [['serve', '--model', 'm', '--port', '70000'], '--port must be an integer in [0, 65535]'],
    [['serve', '--model', 'm', '--port', 'http'], '--port must be an integer'],
    [['serve', '--model', 'm', '--index', 'fast'], "argument 'fast' is invalid"],
    [['serve', '--model', 'm', '--max-in-flight', '0'], '--max-in-flight must be a positive integer'],
    [['serve', '--port', '0'], "required option '--model <dir>' not specified"],
  ])('rejects %j with exit status 2', async (args, message) => {
    const result = await rarefy(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(result.stdout).toBe('');
  });

  it('exits 1 naming the folder when the model cannot be loaded', async () => {
    const result = await rarefy(['serve', '--model', join(root, 'nothing'), '--port', '0', '--json']);
    expect(result.code).toBe(1);
    const error = JSON.parse(result.stdout) as { error: { code: string; input: string } };
    expect(error.error.code).toBe('RAREFY_IO_ERROR');
    expect(error.error.input).toContain('nothing');
  });

  it('exits 1 naming --port when the port is taken', async () => {
    const taken: Server = createNetServer();
    await new Promise<void>((ready) => taken.listen(0, '127.0.0.1', ready));
    const port = (taken.address() as { port: number }).port;
    try {
      const result = await rarefy(['serve', '--model', join(root, 'v1'), '--port', String(port)]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`RAREFY_IO_ERROR: --port ${port}: 127.0.0.1:${port} is already in use`);
      expect(result.stdout).toBe('');
    } finally {
      await new Promise((closed) => taken.close(closed));
    }
  });

  it('serves on loopback, reloads under continuous traffic without a failed request, and drains on SIGTERM', async () => {
    let stderr = '';
    const child = spawn(
      process.execPath,
      [
        '--conditions=@rarefy/source',
        '--import',
        'tsx',
        BIN,
        'serve',
        '--model',
        join(root, 'v1'),
        '--port',
        '0',
      ],
      { cwd: REPO, env: { ...process.env, RAREFY_ADMIN_TOKEN: TOKEN }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const line = await firstLine(child, 60, () => stderr);
    expect(line).toMatch(/^listening on http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.slice('listening on '.length);

    const body = JSON.stringify({ rows: [[1, 2]] });
    const failures: string[] = [];
    const versions = new Map<string, number>();
    let answered = 0;
    let running = true;
    const client = async (): Promise<void> => {
      while (running) {
        try {
          const response = await fetch(`${url}/v1/score`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body,
          });
          const payload = (await response.json()) as {
            probabilities?: number[];
            model?: { version: string };
          };
          if (response.status !== 200 || payload.model === undefined) {
            failures.push(`${response.status} ${JSON.stringify(payload)}`);
          } else {
            answered++;
            const probability = payload.probabilities?.[0] as number;
            // Every answer comes whole from one model: v1 gives sigma(-4 + 1 - 2), v2 sigma(-2 + 0.5 + 1).
            const expected = [sigmoid(-5), sigmoid(-0.5)];
            if (!expected.some((p) => Math.abs(p - probability) < 1e-12))
              failures.push(`mixed answer ${probability}`);
            versions.set(payload.model.version, (versions.get(payload.model.version) ?? 0) + 1);
          }
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const clients = Array.from({ length: 8 }, () => client());
    const waitFor = async (count: number): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (answered < count && Date.now() < deadline) await new Promise((wake) => setTimeout(wake, 20));
    };
    await waitFor(200);
    const reload = await fetch(`${url}/v1/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ model: join(root, 'v2') }),
    });
    expect(reload.status).toBe(200);
    const afterReload = answered;
    await waitFor(afterReload + 200);
    running = false;
    await Promise.all(clients);

    expect(failures).toEqual([]);
    expect(versions.size).toBe(2);
    const refused = await fetch(`${url}/v1/admin/reload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ model: join(root, 'missing') }),
    });
    expect(refused.status).toBe(422);
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    expect(child.kill('SIGTERM')).toBe(true);
    const { code, signal } = await exited(child, 15);
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(stderr).toContain('rarefy serve: SIGTERM: draining requests in flight, then stopping');
  });
});
