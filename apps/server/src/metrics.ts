import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Upper bounds (seconds) of the request latency histogram: 0.5 ms to 2.5 s. */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** What the metrics know about the model being served. */
export interface ServedModelFacts {
  /** A short hash of the model's manifest. */
  readonly version: string;
  /** `logistic`, `neural` or `two-tower`. */
  readonly kind: string;
  /** 1 for the model loaded at start, +1 for every successful reload. */
  readonly generation: number;
  /** Items in the recommendation index (0 for a scoring model). */
  readonly indexSize: number;
  /** `exact`, `hnsw`, or `none` for a scoring model. */
  readonly indexKind: string;
}

/**
 * The server's Prometheus metrics, in a registry of their own (so that several servers in one
 * process, and the host application's own metrics, never collide): requests by route and status,
 * their latency, requests refused for overload, requests in flight, reloads by outcome, the served
 * model's version, generation and index size, and Node's process metrics (`rarefy_process_*`,
 * `rarefy_nodejs_*`: memory, CPU, event-loop lag).
 *
 * @example
 * ```ts
 * const metrics = new ServerMetrics();
 * metrics.observeRequest('POST', '/v1/recommend', 200, 0.004);
 * const text = await metrics.registry.metrics();
 * ```
 */
export class ServerMetrics {
  /** The registry `/metrics` renders. */
  readonly registry: Registry;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly latency: Histogram<'method' | 'route' | 'status'>;
  private readonly overloaded: Counter;
  private readonly reloads: Counter<'outcome'>;
  private readonly modelInfo: Gauge<'version' | 'kind'>;
  private readonly modelGeneration: Gauge;
  private readonly modelLoadedAt: Gauge;
  private readonly indexItems: Gauge<'index'>;
  /** Requests being answered now (set by the concurrency limiter). */
  readonly inFlight: Gauge;

  /**
   * @param options - `defaultMetrics`: also collect Node's process metrics (default true)
   */
  constructor(options: { defaultMetrics?: boolean } = {}) {
    this.registry = new Registry();
    const registers = [this.registry];
    this.requests = new Counter({
      name: 'rarefy_http_requests_total',
      help: 'HTTP requests answered, by method, route and status code',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.latency = new Histogram({
      name: 'rarefy_http_request_duration_seconds',
      help: 'Time from receiving a request to sending its response, by method, route and status code',
      labelNames: ['method', 'route', 'status'],
      buckets: [...LATENCY_BUCKETS_SECONDS],
      registers,
    });
    this.overloaded = new Counter({
      name: 'rarefy_http_overloaded_total',
      help: 'Requests refused with 503 because too many were in flight',
      registers,
    });
    this.inFlight = new Gauge({
      name: 'rarefy_http_in_flight',
      help: 'Model requests being answered now',
      registers,
    });
    this.reloads = new Counter({
      name: 'rarefy_model_reloads_total',
      help: 'Model reloads by outcome (swapped, refused)',
      labelNames: ['outcome'],
      registers,
    });
    this.modelInfo = new Gauge({
      name: 'rarefy_model_info',
      help: 'The model being served (value 1), labelled with its version (manifest hash) and kind',
      labelNames: ['version', 'kind'],
      registers,
    });
    this.modelGeneration = new Gauge({
      name: 'rarefy_model_generation',
      help: 'How many models have been served: 1 at start, +1 per successful reload',
      registers,
    });
    this.modelLoadedAt = new Gauge({
      name: 'rarefy_model_loaded_timestamp_seconds',
      help: 'Unix time at which the model being served was swapped in',
      registers,
    });
    this.indexItems = new Gauge({
      name: 'rarefy_index_items',
      help: 'Items in the recommendation index, by index kind (exact, hnsw)',
      labelNames: ['index'],
      registers,
    });
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'rarefy_' });
  }

  /**
   * Records one answered request.
   *
   * @param method - the HTTP method
   * @param route - the route pattern (`/v1/recommend`), or `unmatched` for a 404
   * @param status - the status code sent
   * @param seconds - time from receiving the request to sending the response
   * @returns nothing
   */
  observeRequest(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }

  /**
   * Counts a request refused for overload.
   *
   * @returns nothing
   */
  observeOverload(): void {
    this.overloaded.inc();
  }

  /**
   * Counts a reload attempt.
   *
   * @param outcome - `swapped` or `refused`
   * @returns nothing
   */
  observeReload(outcome: 'swapped' | 'refused'): void {
    this.reloads.inc({ outcome });
  }

  /**
   * Publishes the model now being served (replacing the previous one's series).
   *
   * @param model - its version, kind, generation and index
   * @returns nothing
   */
  setModel(model: ServedModelFacts): void {
    this.modelInfo.reset();
    this.modelInfo.set({ version: model.version, kind: model.kind }, 1);
    this.modelGeneration.set(model.generation);
    this.modelLoadedAt.set(Date.now() / 1000);
    this.indexItems.reset();
    if (model.indexKind !== 'none') this.indexItems.set({ index: model.indexKind }, model.indexSize);
  }
}
