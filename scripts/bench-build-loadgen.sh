#!/usr/bin/env bash
# Builds the Go load generator (packages/bench/go/loadgen) offline, in GOPATH
# mode, against Debian's packaged etcd 3.4 clientv3 sources:
#   apt-get install -y golang-go golang-etcd-server-dev
# Prints the path of the binary on stdout. Rebuilds only when the source is
# newer than the binary (or with --force).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/packages/bench/go/loadgen"
OUT="${LOADGEN_BIN:-$ROOT/packages/bench/go/bin/loadgen}"
GOCODE="${BENCH_GOCODE:-/usr/share/gocode}"

if [ "${1:-}" != "--force" ] && [ -x "$OUT" ] && [ -z "$(find "$SRC" -name '*.go' -newer "$OUT" -print -quit)" ]; then
  echo "$OUT"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "bench: Go is missing; install it with: apt-get install -y golang-go" >&2
  exit 1
fi
if [ ! -d "$GOCODE/src/go.etcd.io/etcd/clientv3" ]; then
  echo "bench: etcd clientv3 sources missing under $GOCODE; install them with: apt-get install -y golang-etcd-server-dev" >&2
  exit 1
fi
mkdir -p "$(dirname "$OUT")"
cd "$SRC"
GO111MODULE=off GOPATH="$GOCODE" GOFLAGS= GOPROXY=off GOTOOLCHAIN=local \
  go build -trimpath -o "$OUT" . >&2
echo "$OUT"
