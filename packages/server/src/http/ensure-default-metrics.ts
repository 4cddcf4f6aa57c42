import { collectDefaultMetrics, register } from 'prom-client';

/**
 * Starts prom-client's process and Node.js runtime metrics in its default
 * registry, once per process (etcd exports Go's process_* and go_* the same way).
 */
export function ensureDefaultMetrics(): void {
  if (register.getSingleMetric('process_cpu_user_seconds_total') !== undefined) return;
  collectDefaultMetrics();
}
