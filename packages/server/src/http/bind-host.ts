/**
 * The address to bind for a listen URL's host. Node may resolve "localhost" to
 * ::1 only; etcd (Go) listens on 127.0.0.1 for it, which is where clients of
 * http://localhost:2379 connect first.
 */
export function bindHost(host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host;
}
