#!/usr/bin/env bash
# bench/ab.sh OLD_DIST NEW_DIST: CPU per request of two builds of `iamgate serve`, interleaved.
#
# Both builds serve the quick start (IAMGATE_CONFIG names another) before one tiny upstream, the
# audit trail to stdout, here /dev/null, as bench/gateway.ts runs them; with AB_UNDICI=1 the bare
# undici proxy (bench/undici-proxy.ts) is measured in the same rounds as a third target. Each
# target is first loaded until it has answered AB_WARMUP requests (30,000: V8's tiers settle).
# Then AB_ROUNDS rounds (8); a round runs `wrk -t1 -cAB_CONNECTIONS -dAB_SECONDS` (32, 3) against
# each target as alice on GET /orders/1 (AB_USER, AB_METHOD, AB_PATH change that; an empty
# AB_USER sends no token), old first in odd rounds and new first in even ones, and reads the CPU
# time (utime + stime of all threads, /proc/PID/stat) each gateway spent over its run. It prints
# per round the requests/s and CPU µs per request of each, and the new ÷ old CPU ratio; then the
# medians, the median of the per-round ratios with its range, and the load average before and
# after. On a shared machine read the ratio, not the µs.
#
# Each DIST is a build's dist/ directory whose parent holds (or links) node_modules/, package.json
# and proto/, for instance an earlier commit's:
#   git worktree add /tmp/old COMMIT && (cd /tmp/old && npm ci && npm run build)   # or:
#   mkdir /tmp/old && cp -r dist package.json proto /tmp/old/ && ln -s "$PWD/node_modules" /tmp/old/
#   bench/ab.sh /tmp/old/dist dist
# AB_OLD_CONFIG and AB_NEW_CONFIG give each its own configuration instead (to measure what a
# setting costs, give the same DIST twice). AB_C1=1 adds, in every round, the latency one request at
# a time adds: the upstream direct, then each target, `wrk -t1 -c1 -dAB_C1_SECONDS` (3), each
# one's median from wrk's histogram minus the upstream's (the added p50, µs), and the per-round
# new − old difference with its median and range. Needs wrk. AB_NODE_FLAGS passes flags to both
# gateways' node (e.g. --trace-gc to count scavenges per request: the output names each gateway's
# log under AB_KEEP, a directory kept when given).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -eq 2 ] || { sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
OLD="$(cd "$1" && pwd)"
NEW="$(cd "$2" && pwd)"
for d in "$OLD" "$NEW"; do
  [ -f "$d/cli/main.js" ] || { echo "ab.sh: $d/cli/main.js not found: give a built dist/ directory" >&2; exit 2; }
done
command -v wrk >/dev/null || { echo "ab.sh: wrk is not installed" >&2; exit 1; }
absolute() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
CONFIG="$(absolute "${IAMGATE_CONFIG:-policies/iamgate.yaml}")"
OLD_CONFIG="$(absolute "${AB_OLD_CONFIG:-$CONFIG}")"
NEW_CONFIG="$(absolute "${AB_NEW_CONFIG:-$CONFIG}")"
ROUNDS="${AB_ROUNDS:-8}"
SECS="${AB_SECONDS:-3}"
CONNS="${AB_CONNECTIONS:-32}"
WARMUP="${AB_WARMUP:-30000}"
BENCH_NAME=ab
# shellcheck source=bench/lib.sh
. bench/lib.sh
KEEP="${AB_KEEP:-$TMP}"
mkdir -p "$KEEP"

UP="$(free_ports 1)"
start_upstream "$UP"

NAMES=()
URLS=()
GPIDS=()
start_gateway() { # NAME DIST CONFIG
  local port ops pid
  read -r port ops <<<"$(free_ports 2)"
  # shellcheck disable=SC2086
  IAMGATE_PORT=$port IAMGATE_OPS_PORT=$ops IAMGATE_UPSTREAM="http://127.0.0.1:$UP" IAMGATE_LOG_LEVEL=warn IAMGATE_STATE_DIR="$TMP/$1-state" \
    node ${AB_NODE_FLAGS:-} "$2/cli/main.js" serve --config "$3" >/dev/null 2>"$KEEP/$1.log" &
  pid=$!
  PIDS+=("$pid")
  until curl -sf -o /dev/null "http://127.0.0.1:$ops/readyz"; do
    kill -0 "$pid" 2>/dev/null || { echo "ab.sh: $1 ($2) exited before it was ready" >&2; cat "$KEEP/$1.log" >&2; exit 1; }
    sleep 0.2
  done
  NAMES+=("$1")
  URLS+=("http://127.0.0.1:$port${AB_PATH:-/orders/1}")
  GPIDS+=("$pid")
}
start_gateway old "$OLD" "$OLD_CONFIG"
start_gateway new "$NEW" "$NEW_CONFIG"
if [ "${AB_UNDICI:-}" = 1 ]; then
  npx tsc -p tsconfig.bench.json
  port="$(free_ports 1)"
  node dist-bench/bench/undici-proxy.js "$port" "http://127.0.0.1:$UP" &
  PIDS+=($!)
  GPIDS+=($!)
  NAMES+=(undici)
  URLS+=("http://127.0.0.1:$port${AB_PATH:-/orders/1}")
  for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
fi

WRK=(wrk -t1 "-c$CONNS")
C1=(wrk -t1 -c1 -d"${AB_C1_SECONDS:-3}s")
# The median latency in µs, from wrk's histogram (its `done` hook).
cat >"$TMP/p50.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("P50 %d\n", latency:percentile(50)))
end
EOF
AB_USER="${AB_USER-alice}"
if [ -n "$AB_USER" ]; then
  WRK+=(-H "Authorization: Bearer $(node "$NEW/cli/main.js" token "$AB_USER" --config "$CONFIG")")
  C1+=("${WRK[@]:3}")
fi
if [ -n "${AB_METHOD:-}" ]; then
  echo "wrk.method = \"$AB_METHOD\"" >"$TMP/method.lua"
  WRK+=(-s "$TMP/method.lua")
  cat "$TMP/method.lua" >>"$TMP/p50.lua"
fi
C1+=(-s "$TMP/p50.lua")
# The median latency in µs of one connection's requests to URL.
p50() { "${C1[@]}" "$1" | sed -n 's/^P50 \([0-9]*\)$/\1/p'; }

# utime + stime (fields 14 and 15) of the whole process, all its threads, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# Requests wrk completed; fails the run on answers of 400 and more where a 2xx is expected.
requests() { # WRK_OUTPUT
  local n
  n="$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' <<<"$1")"
  if grep -qE 'Non-2xx|Socket errors' <<<"$1" && [ -n "$AB_USER" ] && [ -z "${AB_METHOD:-}" ]; then
    echo "ab.sh: unexpected answers:" >&2
    echo "$1" >&2
    exit 1
  fi
  echo "$n"
}

for i in "${!NAMES[@]}"; do
  done_n=0
  deadline=$((SECONDS + 60))
  while [ "$done_n" -lt "$WARMUP" ] && [ $SECONDS -lt $deadline ]; do
    out="$("${WRK[@]}" -d2s "${URLS[$i]}")"
    done_n=$((done_n + $(requests "$out")))
  done
done

HZ="$(getconf CLK_TCK)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf 'round'
for n in "${NAMES[@]}"; do printf '\t%s req/s\t%s µs' "$n" "$n"; done
printf '\tnew ÷ old CPU'
[ "${AB_C1:-}" = 1 ] && printf '\tdirect c1 p50 µs%s\tnew − old added µs' "$(printf '\t%s added p50 µs' "${NAMES[@]}")"
printf '\n'
RESULTS="$TMP/results"
: >"$RESULTS"
for r in $(seq "$ROUNDS"); do
  order=("${!NAMES[@]}")
  # Odd rounds old first, even rounds new first (the bare proxy, when measured, last).
  if [ $((r % 2)) -eq 0 ]; then order[0]=1; order[1]=0; fi
  declare -A RPS=() US=()
  for i in "${order[@]}"; do
    before="$(ticks "${GPIDS[$i]}")"
    out="$("${WRK[@]}" -d"${SECS}s" "${URLS[$i]}")"
    after="$(ticks "${GPIDS[$i]}")"
    n="$(requests "$out")"
    RPS[$i]=$((n / SECS))
    US[$i]="$(awk -v t=$((after - before)) -v n="$n" -v hz="$HZ" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')"
  done
  ratio="$(awk -v a="${US[0]}" -v b="${US[1]}" 'BEGIN { printf "%.3f", b / a }')"
  printf '%d' "$r"
  for i in "${!NAMES[@]}"; do printf '\t%s\t%s' "${RPS[$i]}" "${US[$i]}"; done
  printf '\t%s' "$ratio"
  added=()
  if [ "${AB_C1:-}" = 1 ]; then
    direct="$(p50 "http://127.0.0.1:$UP${AB_PATH:-/orders/1}")"
    declare -A ADDED=()
    for i in "${order[@]}"; do ADDED[$i]=$(($(p50 "${URLS[$i]}") - direct)); done
    for i in "${!NAMES[@]}"; do added+=("${ADDED[$i]}"); done
    printf '\t%s\t%s\t%s' "$direct" "$(IFS=$'\t'; echo "${added[*]}")" "$((ADDED[1] - ADDED[0]))"
  fi
  printf '\n'
  echo "${US[0]} ${US[1]} ${US[2]:-0} $ratio ${added[0]:-0} ${added[1]:-0} ${added[2]:-0} $((${added[1]:-0} - ${added[0]:-0}))" >>"$RESULTS"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "median CPU µs a request: old $(cut -d' ' -f1 "$RESULTS" | median), new $(cut -d' ' -f2 "$RESULTS" | median)$([ "${AB_UNDICI:-}" = 1 ] && echo ", undici $(cut -d' ' -f3 "$RESULTS" | median)")"
echo "new ÷ old CPU, median of the per-round ratios: $(cut -d' ' -f4 "$RESULTS" | median) (range $(cut -d' ' -f4 "$RESULTS" | sort -g | head -1)–$(cut -d' ' -f4 "$RESULTS" | sort -g | tail -1))"
if [ "${AB_C1:-}" = 1 ]; then
  echo "median added p50 at one connection, µs: old $(cut -d' ' -f5 "$RESULTS" | median), new $(cut -d' ' -f6 "$RESULTS" | median)$([ "${AB_UNDICI:-}" = 1 ] && echo ", undici $(cut -d' ' -f7 "$RESULTS" | median)")"
  echo "new − old added p50, median of the per-round differences: $(cut -d' ' -f8 "$RESULTS" | median) µs (range $(cut -d' ' -f8 "$RESULTS" | sort -g | head -1) to $(cut -d' ' -f8 "$RESULTS" | sort -g | tail -1))"
fi
