# Sourced by bench/profile.sh and bench/ab.sh: a temporary directory and the processes a script
# starts, all removed or stopped when it exits, and the tiny upstream they measure against.
TMP="$(mktemp -d -t iamgate-bench.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# start_upstream PORT: a node:http server answering `ok` (2 bytes, text/plain), keep-alive 60 s.
start_upstream() {
  node -e "const u = require('http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('ok'); }); u.keepAliveTimeout = 60000; u.listen($1, '127.0.0.1')" &
  PIDS+=($!)
}
