#!/usr/bin/env bash
# bench/ab-reject.sh OLD_DIST NEW_DIST [ROUNDS] [SECONDS]: an interleaved A/B of two builds of
# iamgate on one answer, CPU per request. Both builds serve the quick start (`iamgate serve`,
# audit trail to /dev/null) before one tiny upstream; each round drives each build with
# `wrk -t1 -c32` for SECONDS (3) after a 1 s warm-up, the order alternating from round to round,
# and reads the process's user + system time from /proc/PID/stat (all threads) around the run.
# Prints per round each build's µs a request and answers a second, and the new ÷ old CPU ratio;
# then the medians. ROUNDS defaults to 8.
#   AB_SCENARIO: none (GET without a token: 401, the default), bad (a token that does not verify:
#     401), deny (DELETE as alice: 403), allow (GET as alice: the cached allow)
#   AB_FLOOR=1 also measures bench/floor-401.ts (a bare node:http server answering a fixed 401)
#   in each round, as a third column.
#   AB_NGINX=1 also measures nginx (one worker, no access log, master and worker counted) answering
#   the no-token 401 with iamgate's status, headers and body, as the last column: the C floor.
# OLD_DIST and NEW_DIST are dist/ folders of this checkout's layout (a copy of an earlier build's
# dist/ beside this one resolves the same node_modules). Needs wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD="${1:?usage: ab-reject.sh OLD_DIST NEW_DIST [ROUNDS] [SECONDS]}"
NEW="${2:?usage: ab-reject.sh OLD_DIST NEW_DIST [ROUNDS] [SECONDS]}"
ROUNDS="${3:-8}"
SECS="${4:-3}"
SCENARIO="${AB_SCENARIO:-none}"
CONFIG="${IAMGATE_CONFIG:-policies/iamgate.yaml}"
command -v wrk >/dev/null || { echo "ab-reject.sh: wrk is not installed" >&2; exit 1; }
TICKS="$(getconf CLK_TCK)"

BENCH_NAME=ab
# shellcheck source=bench/lib.sh
. bench/lib.sh
read -r UP GA OA GB OB FL NG <<<"$(free_ports 7)"

start_upstream "$UP"

start() { # DIST PORT OPS: prints the pid
  IAMGATE_PORT=$2 IAMGATE_OPS_PORT=$3 IAMGATE_UPSTREAM="http://127.0.0.1:$UP" IAMGATE_LOG_LEVEL=warn IAMGATE_STATE_DIR="$TMP/$2-state" \
    node "$1/cli/main.js" serve --config "$CONFIG" >/dev/null 2>"$TMP/stderr.$2" &
  echo $!
}
A=$(start "$OLD" "$GA" "$OA")
PIDS+=("$A")
B=$(start "$NEW" "$GB" "$OB")
PIDS+=("$B")
for ops in "$OA" "$OB"; do
  for _ in $(seq 300); do curl -sf -o /dev/null "http://127.0.0.1:$ops/readyz" && break; sleep 0.2; done
  curl -sf -o /dev/null "http://127.0.0.1:$ops/readyz" || { echo "ab-reject.sh: a gateway did not get ready" >&2; cat "$TMP"/stderr.* >&2; exit 1; }
done
if [ -n "${AB_FLOOR:-}" ]; then
  [ -f dist-bench/bench/floor-401.js ] || npx tsc -p tsconfig.bench.json
  node dist-bench/bench/floor-401.js "$FL" &
  F=$!
  PIDS+=("$F")
  until curl -s -o /dev/null "http://127.0.0.1:$FL/"; do sleep 0.1; done
fi

if [ -n "${AB_NGINX:-}" ]; then
  command -v nginx >/dev/null || { echo "ab-reject.sh: nginx is not installed" >&2; exit 1; }
  mkdir -p "$TMP/nginx/logs"
  ID=6b029938-152e-4f63-be68-000000000001
  cat >"$TMP/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_timeout 5s;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NG;
    location / {
      default_type application/json;
      add_header www-authenticate 'Bearer realm="iamgate"' always;
      add_header cache-control no-store always;
      add_header x-iamgate-request-id $ID always;
      return 401 '{"error":"Unauthorized","code":"token_missing","message":"A bearer token is required","requestId":"$ID"}';
    }
  }
}
CONF
  nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" 2>"$TMP/stderr.nginx" &
  N=$!
  PIDS+=("$N")
  until curl -s -o /dev/null "http://127.0.0.1:$NG/"; do kill -0 "$N" 2>/dev/null || { cat "$TMP/stderr.nginx" >&2; exit 1; }; sleep 0.1; done
  NW=$(pgrep -P "$N" | head -1)
fi

WRK=(wrk -t1 -c32)
CURL=(curl -s -o /dev/null -w '%{http_code}')
BAD_TOKEN=eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJub2JvZHkifQ.c2lnbmF0dXJl
case "$SCENARIO" in
  none) EXPECT=401 ;;
  bad) EXPECT=401; WRK+=(-H "Authorization: Bearer $BAD_TOKEN"); CURL+=(-H "Authorization: Bearer $BAD_TOKEN") ;;
  deny|allow)
    TOKEN="$(node "$NEW/cli/main.js" token alice --config "$CONFIG")"
    WRK+=(-H "Authorization: Bearer $TOKEN"); CURL+=(-H "Authorization: Bearer $TOKEN")
    if [ "$SCENARIO" = deny ]; then
      EXPECT=403; echo 'wrk.method = "DELETE"' >"$TMP/method.lua"; WRK+=(-s "$TMP/method.lua"); CURL+=(-X DELETE)
    else EXPECT=200; fi ;;
  *) echo "ab-reject.sh: unknown AB_SCENARIO $SCENARIO" >&2; exit 1 ;;
esac
for port in "$GA" "$GB"; do
  got=$("${CURL[@]}" "http://127.0.0.1:$port/orders/1")
  [ "$got" = "$EXPECT" ] || { echo "ab-reject.sh: port $port answered $got, not $EXPECT" >&2; exit 1; }
done

# CPU ticks (user + system, all threads) of the processes listed, comma-separated.
cpu() {
  local t=0 p
  for p in ${1//,/ }; do t=$((t + $(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[12] + f[13] }' "/proc/$p/stat"))); done
  echo "$t"
}

# One measured run: PID PORT -> "µs_per_request requests_per_second"
run() {
  "${WRK[@]}" -d1s "http://127.0.0.1:$2/orders/1" >/dev/null
  local before after out requests
  before=$(cpu "$1")
  out=$("${WRK[@]}" -d"${SECS}s" "http://127.0.0.1:$2/orders/1")
  after=$(cpu "$1")
  requests=$(awk '/requests in/ { print $1 }' <<<"$out")
  awk -v t="$((after - before))" -v n="$requests" -v hz="$TICKS" -v s="$SECS" 'BEGIN { printf "%.1f %.0f\n", t * 1e6 / hz / n, n / s }'
}

# Warm both (V8's optimising tiers) before the first round.
"${WRK[@]}" -d5s "http://127.0.0.1:$GA/orders/1" >/dev/null
"${WRK[@]}" -d5s "http://127.0.0.1:$GB/orders/1" >/dev/null
[ -n "${AB_FLOOR:-}" ] && "${WRK[@]}" -d3s "http://127.0.0.1:$FL/orders/1" >/dev/null
[ -n "${AB_NGINX:-}" ] && "${WRK[@]}" -d3s "http://127.0.0.1:$NG/orders/1" >/dev/null

echo "scenario $SCENARIO, $ROUNDS rounds of ${SECS}s, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %12s %10s %12s %10s %8s %s %s\n' round 'old µs/req' 'old req/s' 'new µs/req' 'new req/s' 'new/old' "${AB_FLOOR:+floor µs/req}" "${AB_NGINX:+nginx µs/req}"
: >"$TMP/rows"
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then o=$(run "$A" "$GA"); n=$(run "$B" "$GB"); else n=$(run "$B" "$GB"); o=$(run "$A" "$GA"); fi
  f=""
  [ -n "${AB_FLOOR:-}" ] && f=$(run "$F" "$FL" | cut -d' ' -f1)
  g=""
  [ -n "${AB_NGINX:-}" ] && g=$(run "$N,$NW" "$NG" | cut -d' ' -f1)
  ratio=$(awk -v a="${o%% *}" -v b="${n%% *}" 'BEGIN { printf "%.3f", b / a }')
  printf '%-6s %12s %10s %12s %10s %8s %s %s\n' "$r" "${o%% *}" "${o##* }" "${n%% *}" "${n##* }" "$ratio" "$f" "$g"
  echo "${o%% *} ${o##* } ${n%% *} ${n##* } $ratio ${f:-0} ${g:-0}" >>"$TMP/rows"
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf '%-6s %12s %10s %12s %10s %8s %s %s\n' median \
  "$(cut -d' ' -f1 "$TMP/rows" | median)" "$(cut -d' ' -f2 "$TMP/rows" | median)" \
  "$(cut -d' ' -f3 "$TMP/rows" | median)" "$(cut -d' ' -f4 "$TMP/rows" | median)" \
  "$(cut -d' ' -f5 "$TMP/rows" | median)" "${AB_FLOOR:+$(cut -d' ' -f6 "$TMP/rows" | median)}" "${AB_NGINX:+$(cut -d' ' -f7 "$TMP/rows" | median)}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
