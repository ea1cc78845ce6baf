#!/usr/bin/env bash
# bench/profile.sh [SECONDS]: where the allowed path's CPU goes. Runs `iamgate serve` (built, the
# quick start unless IAMGATE_CONFIG names another) under `node --cpu-prof` before a tiny upstream,
# warms it up, drives it with wrk -t1 -c32 for SECONDS (10 by default) as alice on GET /orders/1
# (PROFILE_USER, PROFILE_METHOD, PROFILE_PATH change that; an empty PROFILE_USER sends no token:
# the 401 path; PROFILE_METHOD=DELETE as alice: the 403 path), stops it, and prints the main thread's self time over
# the busiest SECONDS of the profile (the load, not the stop after it) grouped by area: proxy,
# audit, pipeline, node's HTTP server, hono, metrics (bench/profile-summary.ts). Needs wrk. Keeps
# the profile when PROFILE_KEEP names a directory.
#   PROFILE_PERF=1 samples with `perf record -e cpu-clock` (node --perf-basic-prof) instead: CPU
#   time of every thread, kernel included, where --cpu-prof samples the main thread on a wall clock
#   (a thread switched out on its way back from a system call is sampled in that call, so a
#   `writev` that wakes wrk looks dearer than it is). Prints the shares by object (kernel, node,
#   JIT code) and iamgate's functions with their callees. Needs perf.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS="${1:-10}"
CONFIG="${IAMGATE_CONFIG:-policies/iamgate.yaml}"
command -v wrk >/dev/null || { echo "profile.sh: wrk is not installed" >&2; exit 1; }
[ -f dist/cli/main.js ] || npm run build --silent
npx tsc -p tsconfig.bench.json

BENCH_NAME=profile
# shellcheck source=bench/lib.sh
. bench/lib.sh
read -r UP GW OPS <<<"$(free_ports 3)"

start_upstream "$UP"
PERF="${PROFILE_PERF:-}"
if [ -n "$PERF" ]; then
  command -v perf >/dev/null || { echo "profile.sh: perf is not installed" >&2; exit 1; }
  NODE_PROFILE=(--perf-basic-prof)
else
  NODE_PROFILE=(--cpu-prof --cpu-prof-dir "$TMP")
fi
IAMGATE_PORT=$GW IAMGATE_OPS_PORT=$OPS IAMGATE_UPSTREAM="http://127.0.0.1:$UP" IAMGATE_LOG_LEVEL=warn \
  node "${NODE_PROFILE[@]}" dist/cli/main.js serve --config "$CONFIG" >/dev/null &
GATEWAY=$!
PIDS+=("$GATEWAY")
until curl -sf -o /dev/null "http://127.0.0.1:$OPS/readyz"; do
  kill -0 "$GATEWAY" 2>/dev/null || { echo "profile.sh: iamgate serve exited before it was ready" >&2; exit 1; }
  sleep 0.2
done

WRK=(wrk -t1 -c32)
PROFILE_USER="${PROFILE_USER-alice}"
[ -n "$PROFILE_USER" ] && WRK+=(-H "Authorization: Bearer $(node dist/cli/main.js token "$PROFILE_USER" --config "$CONFIG")")
if [ -n "${PROFILE_METHOD:-}" ]; then
  echo "wrk.method = \"$PROFILE_METHOD\"" >"$TMP/method.lua"
  WRK+=(-s "$TMP/method.lua")
fi
URL="http://127.0.0.1:$GW${PROFILE_PATH:-/orders/1}"
"${WRK[@]}" -d3s "$URL" >/dev/null
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$PERF" ]; then
  "${WRK[@]}" -d"$((SECS + 2))s" "$URL" >"$TMP/wrk.out" &
  LOAD=$!
  sleep 1
  perf record -q -e cpu-clock -F 2000 -g -p "$GATEWAY" -o "$TMP/perf.data" -- sleep "$SECS" 2>/dev/null
  wait "$LOAD"
  grep -E 'Requests/sec|Non-2xx|Socket errors' "$TMP/wrk.out" || true
  # perf names JIT code from the map node writes; it is removed once read (or kept with the data).
  MAP="/tmp/perf-$GATEWAY.map"
  [ -n "${PROFILE_KEEP:-}" ] && cp "$TMP/perf.data" "$MAP" "$PROFILE_KEEP/"
  echo "CPU samples by object (all threads):"
  perf report -i "$TMP/perf.data" --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9]' | head -8 || true
  echo "iamgate's functions, with their callees (share of all samples):"
  perf report -i "$TMP/perf.data" --children --sort sym -g none 2>/dev/null | grep -E "^ +[0-9].*JS:.*$PWD/dist/" | head -"${PROFILE_LINES:-30}" | sed -E "s|file://$PWD/||" || true
  kill -TERM "$GATEWAY"
  wait "$GATEWAY" || true
  rm -f "$MAP"
  exit 0
fi
"${WRK[@]}" -d"${SECS}s" "$URL" | grep -E 'Requests/sec|Non-2xx|Socket errors' || true
kill -TERM "$GATEWAY"
wait "$GATEWAY" || true
PROFILE="$(ls "$TMP"/*.cpuprofile)"
[ -n "${PROFILE_KEEP:-}" ] && cp "$PROFILE" "$PROFILE_KEEP/"
node dist-bench/bench/profile-summary.js "$PROFILE" "$SECS"
