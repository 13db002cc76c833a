import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve, sep } from 'node:path';

/** Content types of the files a Vite build writes (and a few a report or export may hold). */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.csv': 'text/csv; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/** A running static server. */
export interface StaticServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/** Options of {@link serveDirectory}. */
export interface ServeDirectoryOptions {
  /** Port to listen on (default 0, which lets the system pick a free port). */
  port?: number;
  /** Host to bind (default 127.0.0.1: the page is never exposed beyond this machine). */
  host?: string;
}

/**
 * Serves a folder of static files (a built page) over HTTP on the loopback interface: GET and HEAD
 * only, `index.html` for `/`, the right content type for each file, and no path outside the folder
 * (a request that would leave it gets 404).
 *
 * @param directory - the folder to serve (it must hold index.html)
 * @param options - port (default any free one) and host (default 127.0.0.1)
 * @returns the running server with its URL
 * @example
 * ```ts
 * const server = await serveDirectory('apps/demo/dist');
 * console.log(server.url);
 * await server.close();
 * ```
 */
export async function serveDirectory(
  directory: string,
  options: ServeDirectoryOptions = {},
): Promise<StaticServer> {
  const root = resolve(directory);
  const host = options.host ?? '127.0.0.1';
  const server = createServer(async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      response.writeHead(400).end('bad request');
      return;
    }
    if (pathname.includes('\0')) {
      response.writeHead(400).end('bad request');
      return;
    }
    const relative = normalize(pathname.endsWith('/') ? `${pathname}index.html` : pathname).replace(
      /^([/\\])+/,
      '',
    );
    const file = join(root, relative);
    if (file !== root && !file.startsWith(root + sep)) {
      response.writeHead(404).end('not found');
      return;
    }
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a file');
      response.writeHead(200, {
        'content-type': CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
        'content-length': info.size,
        'cache-control': 'no-cache',
        'x-content-type-options': 'nosniff',
      });
      if (request.method === 'HEAD') response.end();
      else createReadStream(file).pipe(response);
    } catch {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found');
    }
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${port}/`,
    port,
    server,
    close: () =>
      new Promise<void>((resolvePromise, reject) => {
        server.close((error) => (error ? reject(error) : resolvePromise()));
        server.closeAllConnections();
      }),
  };
}
