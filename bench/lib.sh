# Sourced by bench/*.sh: a temporary folder ($TMP) and the processes started ($PIDS), both
# removed on exit, free loopback ports, and the tiny upstream the scripts measure against.
TMP="$(mktemp -d -t "iamgate-${BENCH_NAME:-bench}.XXXXXX")"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT

# free_ports N: N loopback ports free now, on one line.
free_ports() {
  node -e '
    const net = require("net");
    Promise.all(Array.from({ length: Number(process.argv[1]) }, () => new Promise((ok) => { const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => ok(p)); }); })))
      .then((ports) => console.log(ports.join(" ")));' "$1"
}

# start_upstream PORT: a node:http server answering `ok` (2 bytes, text/plain), keep-alive 60 s.
start_upstream() {
  node -e "const u = require('http').createServer((q, s) => { s.setHeader('content-type', 'text/plain'); s.end('ok'); }); u.keepAliveTimeout = 60000; u.listen($1, '127.0.0.1')" &
  PIDS+=($!)
}
