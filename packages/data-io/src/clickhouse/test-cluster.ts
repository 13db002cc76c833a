import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RarefyIoError } from '@rarefy/sampling-core';

/** One ClickHouse server of a {@link LocalClickHouseCluster}. */
export interface LocalClickHouseServer {
  /** Its HTTP interface, e.g. `http://127.0.0.1:18123/`. */
  readonly url: string;
  readonly httpPort: number;
  readonly tcpPort: number;
  /** `127.0.0.1:<tcpPort>`: how the cluster (and its errors) name the shard. */
  readonly shard: string;
  /** Its own folder (config, data, logs). */
  readonly directory: string;
  /** The server process (null once stopped). */
  process: ChildProcess | null;
}

/** Servers started by {@link startLocalClickHouseCluster}: shards of the cluster `rarefy`. */
export interface LocalClickHouseCluster {
  /** The cluster's name in `remote_servers`. */
  readonly name: string;
  readonly servers: readonly LocalClickHouseServer[];
  /** Stops one server by its pid: SIGTERM, then SIGKILL after `graceMs`. */
  stop(server: LocalClickHouseServer, graceMs?: number): Promise<void>;
  /** Stops every server and removes the temporary folder. */
  close(): Promise<void>;
}

/**
 * The `clickhouse-server` binary on the PATH, or null when ClickHouse is not installed.
 *
 * @returns the command, or null
 */
export function clickHouseServerCommand(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v clickhouse-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path.length > 0 ? path : null;
}

/** A free TCP port on 127.0.0.1 (asked of the OS). */
async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function configXml(
  directory: string,
  ports: { http: number; tcp: number; interserver: number },
  shards: readonly number[],
): string {
  const replicas = shards
    .map((port) => `<shard><replica><host>127.0.0.1</host><port>${port}</port></replica></shard>`)
    .join('');
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${directory}/log/server.log</log><errorlog>${directory}/log/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${ports.http}</http_port>
  <tcp_port>${ports.tcp}</tcp_port>
  <interserver_http_port>${ports.interserver}</interserver_http_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${directory}/data/</path>
  <tmp_path>${directory}/tmp/</tmp_path>
  <user_files_path>${directory}/user_files/</user_files_path>
  <users_config>${directory}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <remote_servers><rarefy>${replicas}</rarefy></remote_servers>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>4000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip><ip>::1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors><result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default></quotas>
</yandex>
`;

async function waitForPing(url: string, child: ChildProcess, deadline: number): Promise<void> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(new URL('ping', url), { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
  }
  throw new RarefyIoError(
    'RAREFY_IO_ERROR',
    `clickhouse-server at ${url} did not answer /ping in time (exit code ${String(child.exitCode)})`,
    'check the server log in its temporary folder, and that the ports are free',
    { input: url },
  );
}

/** Stops a process by its pid: SIGTERM, then SIGKILL when it has not exited after `graceMs`. */
async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill('SIGTERM');
  const timer = new Promise<'timeout'>((resolveTimer) => setTimeout(() => resolveTimer('timeout'), graceMs));
  if ((await Promise.race([exited, timer])) === 'timeout') {
    child.kill('SIGKILL');
    await exited;
  }
}

/**
 * Starts `count` ClickHouse servers on 127.0.0.1 as plain processes (no systemd), each with its own
 * config, data folder and ports in one temporary folder, all declaring the cluster `rarefy` whose
 * shards are the servers in order. Waits (bounded by `timeoutMs`) until every server answers
 * `/ping` over HTTP. A start that fails (a port taken between asking the OS for it and the server
 * binding it, or a server slower than the timeout on a loaded machine) is retried on fresh ports,
 * `attempts` times in all. For tests and benchmarks.
 *
 * @param options - number of servers (default 2), the start timeout per attempt (default 30 s), the
 *   attempts (default 2)
 * @returns the servers and how to stop them
 * @throws RarefyIoError when clickhouse-server is missing or a server does not come up at the last
 *   attempt (the others are stopped and the folder removed)
 */
export async function startLocalClickHouseCluster(
  options: { count?: number; timeoutMs?: number; attempts?: number } = {},
): Promise<LocalClickHouseCluster> {
  const attempts = Math.max(1, options.attempts ?? 2);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startClusterOnce(options);
    } catch (error) {
      const missing = error instanceof RarefyIoError && error.message.includes('is not installed');
      if (missing || attempt >= attempts) throw error;
    }
  }
}

async function startClusterOnce(options: {
  count?: number;
  timeoutMs?: number;
}): Promise<LocalClickHouseCluster> {
  const command = clickHouseServerCommand();
  if (command === null) {
    throw new RarefyIoError(
      'RAREFY_IO_ERROR',
      'clickhouse-server is not installed',
      'install it (apt-get install -y clickhouse-server clickhouse-client)',
      { input: 'clickhouse-server' },
    );
  }
  const count = options.count ?? 2;
  const root = await mkdtemp(join(tmpdir(), 'rarefy-clickhouse-'));
  const ports = [];
  for (let k = 0; k < count; k++)
    ports.push({ http: await freePort(), tcp: await freePort(), interserver: await freePort() });
  const servers: LocalClickHouseServer[] = [];
  const stop = async (server: LocalClickHouseServer, graceMs = 10_000) => {
    if (server.process !== null) await stopProcess(server.process, graceMs);
    server.process = null;
  };
  const close = async () => {
    for (const server of servers) await stop(server);
    await rm(root, { recursive: true, force: true });
  };
  try {
    for (const [k, port] of ports.entries()) {
      const directory = join(root, `server${k + 1}`);
      await rm(directory, { recursive: true, force: true });
      for (const sub of ['data', 'tmp', 'user_files', 'log']) {
        await mkdir(join(directory, sub), { recursive: true });
      }
      await writeFile(join(directory, 'users.xml'), USERS_XML);
      await writeFile(
        join(directory, 'config.xml'),
        configXml(
          directory,
          port,
          ports.map((p) => p.tcp),
        ),
      );
      const child = spawn(command, [`--config-file=${join(directory, 'config.xml')}`], {
        cwd: directory,
        stdio: 'ignore',
      });
      servers.push({
        url: `http://127.0.0.1:${port.http}/`,
        httpPort: port.http,
        tcpPort: port.tcp,
        shard: `127.0.0.1:${port.tcp}`,
        directory,
        process: child,
      });
    }
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (const server of servers) await waitForPing(server.url, server.process as ChildProcess, deadline);
  } catch (error) {
    await close();
    throw error;
  }
  return { name: 'rarefy', servers, stop, close };
}
