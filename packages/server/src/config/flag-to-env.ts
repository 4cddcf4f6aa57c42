/** etcd's FlagToEnv: "ETCD_" + the flag name upper-cased with '-' replaced by '_'. */
export function flagToEnv(name: string): string {
  return `ETCD_${name.toUpperCase().replace(/-/g, '_')}`;
}
