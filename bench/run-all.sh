#!/usr/bin/env bash
# The whole benchmark in one go: migrate, seed, start the server, run W1–W5, stop the server.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bw_bench bench/run-all.sh
#   DATA_DIR=/tmp/bw-bench bench/run-all.sh            # embedded mode (PGlite), a scratch DATA_DIR
#
# Settings (environment): INCIDENTS (1000000), SEED (1), DURATION (20), CONNECTIONS (50),
# WARMUP (3), PORT (3000), SKIP_SEED=1 to reuse a database seeded before, ACCEPT_ENCODING (none;
# 'br, gzip' asks for compressed answers, as browsers do).
# The database gets INCIDENTS synthetic incidents: point it at a scratch database only.
set -euo pipefail
cd "$(dirname "$0")/.."

INCIDENTS=${INCIDENTS:-1000000}
SEED=${SEED:-1}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-50}
WARMUP=${WARMUP:-3}
PORT=${PORT:-3000}

if [[ -n "${DATABASE_URL:-}" ]]; then
  export DATABASE_URL
  echo "# server Postgres: ${DATABASE_URL%%\?*}"
elif [[ -n "${DATA_DIR:-}" ]]; then
  export DATA_DIR
  echo "# embedded PGlite in $DATA_DIR"
else
  echo "run-all: set DATABASE_URL (a scratch database) or DATA_DIR (a scratch directory for embedded mode)" >&2
  exit 2
fi

# The production build (dist/main.js), as `npm run cli` and the image run it.
node scripts/build-server.mjs
cli() { node dist/main.js "$@"; }

cli migrate
if [[ "${SKIP_SEED:-}" != "1" ]]; then
  start=$(date +%s)
  cli seed --incidents "$INCIDENTS" --seed "$SEED"
  echo "# seeded $INCIDENTS incidents in $(( $(date +%s) - start )) s"
fi

# `node dist/main.js` rather than `npm start`: one process, so $! is the server itself and its RSS
# is what load.ts reads from /proc.
log="${TMPDIR:-/tmp}/buurtwag-bench-server.$$.log"
RATE_LIMITS=off LOG_LEVEL=warn PORT="$PORT" HOST=127.0.0.1 node --max-semi-space-size=8 dist/main.js serve >"$log" 2>&1 &
server=$!
stop_server() {
  if kill -0 "$server" 2>/dev/null; then
    kill "$server"
    wait "$server" 2>/dev/null || true
  fi
}
trap stop_server EXIT

url="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
  if curl -sf "$url/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$server" 2>/dev/null; then
    echo "run-all: the server exited; its log ($log):" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
curl -sf "$url/healthz" >/dev/null || { echo "run-all: the server did not answer on $url/healthz" >&2; exit 1; }

node --import tsx bench/load.ts --url "$url" --workload all --duration "$DURATION" \
  --connections "$CONNECTIONS" --warmup "$WARMUP" --seed "$SEED" --pid "$server" \
  --accept-encoding "${ACCEPT_ENCODING:-}"

echo "# server log: $log"
