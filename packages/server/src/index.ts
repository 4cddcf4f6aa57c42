export { startServer, type ServerHandle, type StartOptions } from './start-server.js';
export { EtcdServer } from './etcd/etcd-server.js';
export type { ServerConfig } from './config/server-config.js';
export type { ServerConfigOverrides } from './config/default-server-config.js';
export { defaultServerConfig } from './config/default-server-config.js';
export { parseServerConfig } from './config/parse-server-config.js';
export { ConfigError } from './config/config-error.js';
/** The deterministic PRNG raft is driven by in simulations; useful for reproducible tests. */
export { seededRandom } from './raft/seeded-random.js';
