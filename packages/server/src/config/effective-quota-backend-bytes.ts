import type { ServerConfig } from './server-config.js';

/** etcd's DefaultQuotaBytes. */
export const DEFAULT_QUOTA_BACKEND_BYTES = 2 * 1024 * 1024 * 1024;
/** etcd's MaxQuotaBytes: larger quotas are allowed but warned about. */
export const MAX_QUOTA_BACKEND_BYTES = 8 * 1024 * 1024 * 1024;

/** The backend size limit in bytes, or null when the quota is disabled (negative value). */
export function effectiveQuotaBackendBytes(config: Pick<ServerConfig, 'quotaBackendBytes'>): number | null {
  if (config.quotaBackendBytes < 0) return null;
  return config.quotaBackendBytes === 0 ? DEFAULT_QUOTA_BACKEND_BYTES : config.quotaBackendBytes;
}
