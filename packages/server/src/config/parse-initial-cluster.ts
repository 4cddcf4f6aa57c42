import { parseEtcdUrl } from './parse-etcd-urls.js';
import type { EtcdUrl, InitialClusterMember } from './server-config.js';

/**
 * Parses an --initial-cluster value ("n1=http://a:2380,n2=http://b:2380") as
 * etcd's types.NewURLsMap does: empty elements are skipped, a name may repeat to
 * give a member several peer URLs, every URL must pass parseEtcdUrl (which
 * throws EtcdUrlError). Members come back sorted by name, URLs sorted by href.
 */
export function parseInitialCluster(text: string): InitialClusterMember[] {
  const byName = new Map<string, Map<string, EtcdUrl>>();
  for (const element of text.split(',')) {
    if (element === '') continue;
    const eq = element.indexOf('=');
    const name = eq < 0 ? element : element.slice(0, eq);
    const url = parseEtcdUrl(eq < 0 ? '' : element.slice(eq + 1));
    let urls = byName.get(name);
    if (urls === undefined) byName.set(name, (urls = new Map()));
    urls.set(url.href, url);
  }
  return [...byName.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, urls]) => ({
      name,
      peerUrls: [...urls.values()].sort((a, b) => (a.href < b.href ? -1 : a.href > b.href ? 1 : 0)),
    }));
}
