#!/usr/bin/env bash
# Local throughput: `webhookctl local` driven with freshly signed events at
# each concurrency level, and moto_server driven directly with the same
# PutItem + SendMessage pairs, so the receiver's overhead shows as a ratio
# over the emulator it waits on. Loopback only, bounded by DURATION and MAX
# per run; see bench/cmd/load and docs/performance.md.
#
#   scripts/load.sh                 # LEVELS=1,8,32 DURATION=10s MAX=600
set -euo pipefail
cd "$(dirname "$0")/.."

LEVELS="${LEVELS:-1,8,32}"
DURATION="${DURATION:-10s}"
MAX="${MAX:-600}"

command -v moto_server >/dev/null || { echo "moto_server not found: make deps" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go version | cut -d' ' -f3-), $(date -u +%Y-%m-%dT%H:%MZ)"
cd bench
exec go run ./cmd/load -root .. -levels "$LEVELS" -duration "$DURATION" -max "$MAX"
