/**
 * ClickHouse (Node only): the engine recipe inside a cluster over HTTP (issue 8). The `clickhouse`
 * dialect itself is in `SQL_DIALECT_SPECS`.
 */

export { ClickHouseEngine } from './engine.js';
export type { ClickHouseHttpClientOptions } from './http-client.js';
export { ClickHouseHttpClient, redactUrl } from './http-client.js';
export type {
  ClickHouseSampleFit,
  ClickHouseSampleOptions,
  ClickHouseSampleResult,
} from './sample-in-cluster.js';
export { sampleInClickHouse } from './sample-in-cluster.js';
export type { LocalClickHouseCluster, LocalClickHouseServer } from './test-cluster.js';
export { clickHouseServerCommand, startLocalClickHouseCluster } from './test-cluster.js';
