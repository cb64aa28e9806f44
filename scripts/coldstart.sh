#!/usr/bin/env bash
# Cold start of the ingest function on this machine: bootstrap sizes (linux
# arm64 and amd64, stripped as the Lambda build is), then RUNS cold starts
# per scenario under aws-lambda-rie and against a minimal Runtime API, with
# secrets from WEBHOOK_SECRETS, from Secrets Manager on moto_server, and from
# Secrets Manager behind a DELAY per call. Loopback only; see
# bench/cmd/coldstart and docs/performance.md.
#
#   scripts/coldstart.sh            # RUNS=20 DELAY=50ms
#   RUNS=5 scripts/coldstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-20}"
DELAY="${DELAY:-50ms}"
RIE="${RIE:-bin/aws-lambda-rie}"

if [[ ! -x "$RIE" ]]; then
	make --no-print-directory rie
fi
command -v moto_server >/dev/null || { echo "moto_server not found: make deps" >&2; exit 1; }

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(go version | cut -d' ' -f3-), $(date -u +%Y-%m-%dT%H:%MZ)"
cd bench
exec go run ./cmd/coldstart -root .. -rie "../$RIE" -runs "$RUNS" -delay "$DELAY"
