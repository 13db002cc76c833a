import { RarefyError } from '@rarefy/sampling-core';
import { RarefyServerError } from './errors.js';

/**
 * Bounds the requests answered at once. A request over the limit is refused at once with 503 and
 * `Retry-After`, instead of queueing without bound (a queue only turns overload into timeouts and
 * memory growth); the caller's retry lands when the server has room again.
 *
 * @example
 * ```ts
 * const limiter = new ConcurrencyLimiter(256, 1);
 * const release = limiter.acquire(); // throws RarefyServerError 503 when full
 * try { await answer(); } finally { release(); }
 * ```
 */
export class ConcurrencyLimiter {
  /** The most requests answered at once. */
  readonly limit: number;
  /** Seconds sent in `Retry-After` with a 503. */
  readonly retryAfterSeconds: number;
  private active = 0;

  /**
   * @param limit - the most requests at once (a positive integer)
   * @param retryAfterSeconds - what `Retry-After` says (a positive integer, default 1)
   * @throws RarefyError `RAREFY_INVALID_ARGUMENT` for a limit or delay that is not a positive integer
   */
  constructor(limit: number, retryAfterSeconds = 1) {
    for (const [name, value] of [
      ['maxInFlight', limit],
      ['retryAfterSeconds', retryAfterSeconds],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RarefyError(
          'RAREFY_INVALID_ARGUMENT',
          `${name}: ${value} is not a positive integer`,
          'pass e.g. 256',
          {
            input: name,
          },
        );
      }
    }
    this.limit = limit;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  /** Requests being answered now. */
  get inFlight(): number {
    return this.active;
  }

  /**
   * Takes a slot, or refuses the request.
   *
   * @returns a function that gives the slot back (calling it more than once gives it back once)
   * @throws RarefyServerError `RAREFY_OVERLOADED` (503, `Retry-After`) when every slot is taken
   */
  acquire(): () => void {
    if (this.active >= this.limit) {
      throw new RarefyServerError(
        'RAREFY_OVERLOADED',
        503,
        `server: ${this.active} requests are in flight, the limit is ${this.limit}`,
        `retry after ${this.retryAfterSeconds} s (Retry-After), or spread the load over more servers`,
        { headers: { 'retry-after': String(this.retryAfterSeconds) } },
      );
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
    };
  }
}
