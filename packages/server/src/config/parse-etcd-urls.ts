import type { EtcdUrl } from './server-config.js';

/** A URL rejected by etcd's URL rules; the message is etcd's. */
export class EtcdUrlError extends Error {
  override readonly name = 'EtcdUrlError';
}

const SCHEME_RE = /^([A-Za-z][A-Za-z0-9+.-]*):(.*)$/s;

/** Go's net.SplitHostPort, returning undefined where Go returns an error. */
function splitHostPort(hostport: string): { host: string; port: string } | undefined {
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0) return undefined;
    if (hostport[end + 1] !== ':') return undefined;
    const host = hostport.slice(1, end);
    const port = hostport.slice(end + 2);
    if (host.includes('[') || host.includes(']') || port.includes(']') || port.includes('[')) return undefined;
    return { host, port };
  }
  const colon = hostport.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = hostport.slice(0, colon);
  const port = hostport.slice(colon + 1);
  if (host.includes(':') || host.includes('[') || host.includes(']') || port.includes('[') || port.includes(']')) {
    return undefined;
  }
  return { host, port };
}

/**
 * One URL as etcd's types.NewURLs accepts it: scheme http or https, an
 * authority of the form host:port, and no path. unix:// and unixs:// URLs,
 * which etcd also accepts, are rejected here because etcd-ts does not listen
 * on unix sockets. The port must be a number in 0..65535.
 */
export function parseEtcdUrl(input: string): EtcdUrl {
  const text = input.trim();
  const m = SCHEME_RE.exec(text);
  const scheme = m?.[1]?.toLowerCase() ?? '';
  const afterScheme = m?.[2] ?? '';
  if (scheme === 'unix' || scheme === 'unixs') {
    throw new EtcdUrlError(`unix socket URLs are not supported by etcd-ts: ${text}`);
  }
  if (scheme !== 'http' && scheme !== 'https') {
    throw new EtcdUrlError(`URL scheme must be http, https, unix, or unixs: ${text}`);
  }
  let authority = '';
  let path = '';
  if (afterScheme.startsWith('//')) {
    const rest = afterScheme.slice(2);
    const end = rest.search(/[/?#]/);
    authority = end < 0 ? rest : rest.slice(0, end);
    const tail = end < 0 ? '' : rest.slice(end);
    path = tail.split(/[?#]/)[0] ?? '';
  } else {
    path = afterScheme.split(/[?#]/)[0] ?? '';
  }
  const at = authority.lastIndexOf('@');
  if (at >= 0) authority = authority.slice(at + 1);
  const hp = splitHostPort(authority);
  if (hp === undefined) {
    throw new EtcdUrlError(`URL address does not have the form "host:port": ${text}`);
  }
  if (path !== '') throw new EtcdUrlError(`URL must not contain a path: ${text}`);
  if (!/^[0-9]{1,5}$/.test(hp.port) || Number(hp.port) > 65535) {
    throw new EtcdUrlError(`URL port must be a number between 0 and 65535: ${text}`);
  }
  const port = Number(hp.port);
  const hostPart = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  return { href: `${scheme}://${hostPart}:${port}`, scheme, hostname: hp.host, port };
}

/**
 * A comma-separated URL list as etcd's URL flags accept it: each element parsed
 * by parseEtcdUrl, the result sorted by href and de-duplicated.
 */
export function parseEtcdUrls(list: string): EtcdUrl[] {
  const byHref = new Map<string, EtcdUrl>();
  for (const part of list.split(',')) {
    const u = parseEtcdUrl(part);
    byHref.set(u.href, u);
  }
  return [...byHref.values()].sort((a, b) => (a.href < b.href ? -1 : a.href > b.href ? 1 : 0));
}
