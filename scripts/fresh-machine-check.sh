#!/usr/bin/env bash
# The README's two commands on a machine that has Node and npm but neither redis-server nor nginx:
# a clean clone of this repository, a PATH made of links to every program on this machine except
# redis-server, the redis tools and nginx, then
#   npm install && npm start   -> /readyz answers 200, alice's token gets 200 from /orders/1, stopped
#   npm test                   -> its pretest step provides the services, every suite passes
# Nothing on the machine is renamed or removed: its own binaries stay where other processes use
# them. As root on Debian the pretest step runs apt-get for the missing packages (a no-op where they
# are already installed) and finds their binaries through dpkg.
#
# Usage: scripts/fresh-machine-check.sh     (exit 0 when both commands work; CI runs it)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/iamgate-fresh.XXXXXX")"
start_pid=""

cleanup() {
  [ -n "$start_pid" ] && kill -TERM -- "-$start_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
step() { printf '\n== %s\n' "$*"; }
fail() { printf 'fresh-machine check FAILED: %s\n' "$*" >&2; exit 1; }

step "a PATH without redis-server and nginx"
bin="$work/bin"
mkdir -p "$bin"
# One node process makes the links (a shell loop forks once per program, slow on a busy machine).
node -e '
  const fs = require("node:fs"), path = require("node:path");
  const [bin, ...dirs] = process.argv.slice(1);
  for (const dir of dirs) {
    let names = [];
    try { names = fs.readdirSync(dir); } catch { continue; }
    for (const name of names) {
      if (/^(redis-|nginx)/.test(name) || fs.existsSync(path.join(bin, name))) continue;
      try { fs.accessSync(path.join(dir, name), fs.constants.X_OK); } catch { continue; }
      fs.symlinkSync(path.join(dir, name), path.join(bin, name));
    }
  }' "$bin" ${PATH//:/ } /usr/local/bin /usr/bin /bin /usr/sbin /sbin
for missing in redis-server nginx; do
  if PATH="$bin" command -v "$missing" >/dev/null; then fail "$missing is still on the fresh PATH"; fi
done
fresh_path="$bin"

step "a clean clone"
git clone --quiet "$repo" "$work/iamgate"
cd "$work/iamgate"

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
port="$(free_port)"
ops_port="$(free_port)"
upstream_port="$(free_port)"

step "npm install && npm start"
export npm_config_prefer_offline=true npm_config_update_notifier=false npm_config_audit=false npm_config_fund=false
PATH="$fresh_path" npm install
IAMGATE_PORT="$port" IAMGATE_OPS_PORT="$ops_port" IAMGATE_UPSTREAM="http://127.0.0.1:$upstream_port" \
  PATH="$fresh_path" setsid npm start >"$work/start.log" 2>&1 &
start_pid=$!
ready=""
for _ in $(seq 1 600); do
  if curl -fsS "http://127.0.0.1:$ops_port/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  kill -0 "$start_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ready" ] || { cat "$work/start.log" >&2; fail "npm start never answered /readyz on :$ops_port"; }
token="$(IAMGATE_CONFIG=policies/iamgate.yaml PATH="$fresh_path" node dist/cli/main.js token alice)"
status="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "http://127.0.0.1:$port/orders/1")"
[ "$status" = 200 ] || { cat "$work/start.log" >&2; fail "alice got $status from /orders/1, not 200"; }
echo "/readyz 200, alice GET /orders/1 200"
kill -TERM -- "-$start_pid"
wait "$start_pid" || true
start_pid=""

step "npm test"
PATH="$fresh_path" npm test
echo "fresh-machine check: both commands passed"
