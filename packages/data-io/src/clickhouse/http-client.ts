import { RarefyError, RarefyInputError, RarefyIoError } from '@rarefy/sampling-core';

/** Options of {@link ClickHouseHttpClient}. */
export interface ClickHouseHttpClientOptions {
  /**
   * Where the credentials come from when the URL has none: `CLICKHOUSE_USER` and
   * `CLICKHOUSE_PASSWORD` (default `process.env`).
   */
  env?: Readonly<Record<string, string | undefined>>;
  /** Milliseconds a statement may take before it is abandoned (default 10 minutes). */
  timeoutMs?: number;
}

/**
 * A URL with its password replaced by `***` (and its user kept): safe for messages and progress.
 *
 * @param url - an http(s) URL, possibly with `user:password@`
 * @returns the URL without the password (the input unchanged when it does not parse)
 * @example
 * ```ts
 * redactUrl('http://me:secret@db:8123/'); // 'http://me:***@db:8123/'
 * ```
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
  }
}

/** The first characters of a statement, for messages. */
function excerpt(sql: string): string {
  const flat = sql
    .replace(/--[^\n]*\n/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > 120 ? `${flat.slice(0, 117)}...` : flat;
}

/** The `host:port` a ClickHouse message names (a shard it could not reach), or null. */
export function unreachableShard(message: string): string | null {
  if (
    !/NetException|Connection refused|Timeout|connect|ALL_CONNECTION_TRIES_FAILED|Code: (209|210|279)\b/i.test(
      message,
    )
  ) {
    return null;
  }
  const match =
    /\(([A-Za-z0-9_.-]+:\d+)\)/.exec(message) ?? /\b(\d{1,3}(?:\.\d{1,3}){3}:\d+)\b/.exec(message);
  return match?.[1] ?? null;
}

/**
 * A minimal client of ClickHouse's HTTP interface on Node's `fetch`: statements are POSTed as the
 * body, results read as `JSONEachRow`. It speaks to old servers (Debian's 18.16) as well as new
 * ones, since it sends no settings a server might not know (the official `@clickhouse/client` sends
 * settings that 18.16 rejects, and would be one more dependency).
 *
 * Credentials come from the URL (`http://user:password@host:8123/`) or, when it has none, from
 * `CLICKHOUSE_USER` / `CLICKHOUSE_PASSWORD`; they travel as HTTP Basic authentication and never
 * appear in errors (which name {@link ClickHouseHttpClient.redactedUrl}). The URL's query parameters
 * (e.g. `?database=logs`) are sent with every statement.
 */
export class ClickHouseHttpClient {
  /** The URL with its password replaced by `***`. */
  readonly redactedUrl: string;
  /** Bytes of response bodies received so far (what has left the server through this client). */
  bytesReceived = 0;
  private readonly endpoint: URL;
  private readonly authorization: string | null;
  private readonly timeoutMs: number;

  /**
   * @param url - the server's HTTP interface, e.g. `http://127.0.0.1:8123/`
   * @param options - where credentials come from, the statement timeout
   * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for a URL that is not http(s)
   */
  constructor(url: string, options: ClickHouseHttpClientOptions = {}) {
    this.redactedUrl = redactUrl(url);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `url: ${this.redactedUrl} is not a URL`,
        'pass the HTTP interface of a ClickHouse server, e.g. --url http://127.0.0.1:8123',
        { input: 'url' },
      );
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new RarefyError(
        'RAREFY_INVALID_ARGUMENT',
        `url: ${this.redactedUrl} is not an http(s) URL`,
        'pass the HTTP interface of a ClickHouse server (port 8123 by default), not the native TCP port',
        { input: 'url' },
      );
    }
    const env = options.env ?? process.env;
    const user = parsed.username !== '' ? decodeURIComponent(parsed.username) : env.CLICKHOUSE_USER;
    const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : env.CLICKHOUSE_PASSWORD;
    parsed.username = '';
    parsed.password = '';
    this.endpoint = parsed;
    this.authorization =
      user === undefined && password === undefined
        ? null
        : `Basic ${Buffer.from(`${user ?? 'default'}:${password ?? ''}`).toString('base64')}`;
    this.timeoutMs = options.timeoutMs ?? 600_000;
  }

  /**
   * Sends one statement (and an optional body after it, for INSERT ... FORMAT) and returns the
   * response text.
   *
   * @param sql - the statement
   * @param body - data for an INSERT (the statement then goes in the URL's `query` parameter)
   * @param settings - ClickHouse settings for this statement only (sent as URL parameters)
   * @returns the response body
   * @throws RarefyIoError when the server cannot be reached or fails (naming an unreachable shard);
   *   RarefyError `RAREFY_INVALID_ARGUMENT` when it refuses the SQL
   */
  async text(
    sql: string,
    body?: Uint8Array | string,
    settings: Readonly<Record<string, string | number>> = {},
  ): Promise<string> {
    const target = new URL(this.endpoint);
    if (body !== undefined) target.searchParams.set('query', sql);
    for (const [name, value] of Object.entries(settings)) target.searchParams.set(name, String(value));
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (this.authorization !== null) headers.authorization = this.authorization;
    let response: Response;
    try {
      response = await fetch(target, {
        method: 'POST',
        headers,
        body: body ?? sql,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      const cause =
        error instanceof Error
          ? error.cause instanceof Error
            ? error.cause.message
            : error.message
          : String(error);
      throw new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${this.redactedUrl}: the ClickHouse server cannot be reached (${cause})`,
        'check --url (the HTTP port, 8123 by default), that the server runs and that this machine may connect to it',
        { input: this.redactedUrl, statement: excerpt(sql) },
      );
    }
    const text = await response.text();
    this.bytesReceived += Buffer.byteLength(text);
    if (response.ok) return text;
    throw this.failure(sql, response.status, text.trim());
  }

  /** A typed error for a statement the server failed. */
  private failure(sql: string, status: number, message: string): RarefyError {
    const details = { input: this.redactedUrl, status, clickhouse: message, statement: excerpt(sql) };
    const shard = unreachableShard(message);
    if (shard !== null) {
      return new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${this.redactedUrl}: shard ${shard} of the cluster cannot be reached, so the statement failed (${message})`,
        `start the ClickHouse server at ${shard} (or fix the cluster's remote_servers) and run again`,
        { ...details, shard },
      );
    }
    if (status === 401 || status === 403 || /Code: (192|193|194|516)\b/.test(message)) {
      return new RarefyIoError(
        'RAREFY_IO_ERROR',
        `${this.redactedUrl}: ClickHouse refused the credentials (${message})`,
        'pass the user and password in the URL or in CLICKHOUSE_USER / CLICKHOUSE_PASSWORD',
        details,
      );
    }
    if (/Code: (16|47|60|62|81|36|43|44|46|42)\b/.test(message)) {
      return new RarefyInputError(
        'RAREFY_INVALID_ARGUMENT',
        `${this.redactedUrl}: ClickHouse refused the statement (${message})`,
        'check the table and column names ClickHouse reports',
        details,
      );
    }
    return new RarefyIoError(
      'RAREFY_IO_ERROR',
      `${this.redactedUrl}: ClickHouse failed the statement (${message})`,
      'check the message above (it is ClickHouse’s) and the cluster’s health, then run again',
      details,
    );
  }

  /**
   * Runs a statement that returns nothing (DDL, INSERT ... SELECT).
   *
   * @param sql - the statement
   * @param settings - ClickHouse settings for this statement only
   * @returns when it is done
   */
  async command(sql: string, settings: Readonly<Record<string, string | number>> = {}): Promise<void> {
    await this.text(sql, undefined, settings);
  }

  /**
   * Runs a query and returns its rows as objects (64-bit integers as decimal strings, NaN and
   * infinities as the strings `nan`, `inf`, `-inf`).
   *
   * @param sql - a SELECT, DESCRIBE, EXISTS or SHOW statement without a FORMAT clause
   * @returns the rows
   */
  async query(sql: string): Promise<Array<Record<string, unknown>>> {
    const text = await this.text(`${sql}\nFORMAT JSONEachRow`);
    const rows: Array<Record<string, unknown>> = [];
    for (const line of text.split('\n')) {
      if (line.length > 0) rows.push(JSON.parse(line) as Record<string, unknown>);
    }
    return rows;
  }

  /**
   * Inserts a body in a ClickHouse input format (e.g. `RowBinary`, `TabSeparated`) into a table.
   *
   * @param table - the table, already quoted
   * @param format - the body's format
   * @param body - the data
   * @returns when the rows are written
   */
  async insert(table: string, format: string, body: Uint8Array | string): Promise<void> {
    await this.text(`INSERT INTO ${table} FORMAT ${format}`, body);
  }
}
