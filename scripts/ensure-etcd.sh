#!/usr/bin/env bash
# Installs real etcd 3.4 (Debian's etcd-server and etcd-client) for the differential
# tests when it is missing. Needs root and Debian's package archive.
set -euo pipefail
if command -v etcd >/dev/null 2>&1 && command -v etcdctl >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "etcd 3.4 is needed for the differential tests: apt-get install etcd-server etcd-client" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq etcd-server etcd-client >/dev/null
# The package starts a system etcd on 2379; tests use their own ports, so stop it.
if command -v systemctl >/dev/null 2>&1; then systemctl stop etcd >/dev/null 2>&1 || true; fi
if [ -x /etc/init.d/etcd ]; then /etc/init.d/etcd stop >/dev/null 2>&1 || true; fi
