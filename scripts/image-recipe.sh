#!/usr/bin/env bash
# Replays the Dockerfile's recipe as plain commands, for machines without a container engine (CI):
# copies what the Dockerfile copies into a temporary folder, runs its build steps (install,
# build, prune to production dependencies), assembles the runtime folder as the image lays it out,
# makes it read-only, then starts the built server the way the image's entrypoint does — with the
# image's configuration, on free ports, in front of a small demo upstream — waits for /healthz on
# the operations port, checks /readyz and that an anonymous request is refused, and stops it with
# SIGTERM, expecting a clean exit.
#
# Run as root (as CI does), the server runs as an unprivileged user, like the image's USER.
# test/deploy/dockerfile.test.ts checks that the commands here are the Dockerfile's.
#
# Usage: scripts/image-recipe.sh            (exit 0 when every step and check succeeds)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/iamgate-image.XXXXXX")"
server_pid=""
upstream_pid=""

cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  [ -n "$upstream_pid" ] && kill "$upstream_pid" 2>/dev/null || true
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'printf "image recipe FAILED: the command on line %s exited with %s\n" "$LINENO" "$?" >&2' ERR

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'image recipe FAILED: %s\n' "$*" >&2; exit 1; }

# npm may use its local cache when it has the packages; the commands stay the Dockerfile's.
export npm_config_prefer_offline=true npm_config_update_notifier=false

# ---- stage "build" ----------------------------------------------------------------------------
build="$work/build"
mkdir -p "$build"
cd "$repo"

step "build stage: COPY package.json package-lock.json, RUN npm ci"
cp package.json package-lock.json "$build/"
(cd "$build" && npm ci --no-audit --no-fund)

step "build stage: COPY tsconfig.json tsconfig.build.json src, RUN npm run build"
cp tsconfig.json tsconfig.build.json "$build/"
cp -R src "$build/src"
(cd "$build" && npm run build)

step "build stage: RUN npm prune --omit=dev"
(cd "$build" && npm prune --omit=dev)
if [ -d "$build/node_modules/typescript" ] || [ -d "$build/node_modules/vitest" ]; then
  fail "development dependencies are still installed after the prune"
fi

# ---- stage "runtime" --------------------------------------------------------------------------
# The image's layout, below $root: /app (code, read-only), /etc/iamgate (configuration,
# read-only), /var/lib/iamgate and /tmp (the only writable folders).
root="$work/root"
app="$root/app"
mkdir -p "$app" "$root/etc/iamgate" "$root/var/lib/iamgate" "$root/tmp"

step "runtime stage: COPY --from=build package.json node_modules dist, COPY proto, COPY policies, COPY the configuration"
cp "$build/package.json" "$app/package.json"
cp -R "$build/node_modules" "$app/node_modules"
cp -R "$build/dist" "$app/dist"
cp -R proto "$app/proto"
cp -R policies "$app/policies"
# The image's configuration names absolute paths (/app/policies/...); here they live below $root.
sed "s#/app/#$app/#g; s#/var/lib/iamgate#$root/var/lib/iamgate#g" deploy/iamgate.yaml > "$root/etc/iamgate/iamgate.yaml"
rm -rf "$build"

# Read-only everywhere but the two writable folders, like readOnlyRootFilesystem.
chmod -R a-w "$app" "$root/etc/iamgate"
chmod 0777 "$root/var/lib/iamgate" "$root/tmp"
chmod a+rx "$work" "$root"

run_as=()
if [ "$(id -u)" = "0" ] && command -v setpriv >/dev/null 2>&1; then
  # USER 10001:10001 in the Dockerfile; no such account is needed for setpriv.
  run_as=(setpriv --reuid=10001 --regid=10001 --clear-groups --)
  echo "the server runs as uid 10001, like the image"
else
  echo "the server runs as $(id -un) (not root, so the read-only folders are enforced)"
fi

# ---- run it ----------------------------------------------------------------------------------
free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
gateway_port="$(free_port)"
ops_port="$(free_port)"
upstream_port="$(free_port)"
while [ "$ops_port" = "$gateway_port" ]; do ops_port="$(free_port)"; done
while [ "$upstream_port" = "$gateway_port" ] || [ "$upstream_port" = "$ops_port" ]; do upstream_port="$(free_port)"; done

step "demo upstream on 127.0.0.1:$upstream_port"
node -e "
  require('node:http').createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ upstream: true, method: req.method, url: req.url }));
  }).listen(Number(process.argv[1]), '127.0.0.1');
" "$upstream_port" &
upstream_pid=$!

step "ENTRYPOINT + CMD: node dist/cli/main.js serve --config /etc/iamgate/iamgate.yaml"
log="$work/server.log"
(
  cd "$app"
  exec env -i PATH="$PATH" HOME=/nonexistent NODE_ENV=production TMPDIR="$root/tmp" \
    IAMGATE_CONFIG="$root/etc/iamgate/iamgate.yaml" \
    IAMGATE_PORT="$gateway_port" IAMGATE_OPS_PORT="$ops_port" \
    IAMGATE_UPSTREAM="http://127.0.0.1:$upstream_port" \
    "${run_as[@]}" node dist/cli/main.js serve --config "$root/etc/iamgate/iamgate.yaml"
) >"$log" 2>&1 &
server_pid=$!

# Answers "STATUS BODY" for a GET, or "000" when nothing answers.
get() {
  node -e "
    fetch(process.argv[1], { signal: AbortSignal.timeout(2000) })
      .then(async (r) => console.log(r.status, (await r.text()).slice(0, 300).replace(/\s+/g, ' ')))
      .catch(() => console.log('000'));
  " "$1"
}

step "waiting for http://127.0.0.1:$ops_port/healthz"
healthy=""
for _ in $(seq 1 60); do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$log" >&2
    fail "the server exited before answering /healthz"
  fi
  if [ "$(get "http://127.0.0.1:$ops_port/healthz" | cut -d' ' -f1)" = "200" ]; then healthy=yes; break; fi
  sleep 0.5
done
[ -n "$healthy" ] || { cat "$log" >&2; fail "/healthz did not answer 200 within 30 s"; }
echo "/healthz: 200"

ready=""
for _ in $(seq 1 20); do
  answer="$(get "http://127.0.0.1:$ops_port/readyz")"
  if [ "${answer%% *}" = "200" ]; then ready=yes; break; fi
  sleep 0.5
done
[ -n "$ready" ] || { cat "$log" >&2; fail "/readyz did not answer 200: $answer"; }
echo "/readyz: 200"

anonymous="$(get "http://127.0.0.1:$gateway_port/orders/42")"
[ "${anonymous%% *}" = "401" ] || { cat "$log" >&2; fail "an anonymous request got '$anonymous', expected 401"; }
echo "anonymous request through the gateway: 401"

step "SIGTERM"
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=""
[ "$status" = "0" ] || { cat "$log" >&2; fail "the server exited with $status after SIGTERM, expected 0"; }
echo "the server stopped with exit code 0"

if [ -n "$(find "$root/var/lib/iamgate" "$root/tmp" -mindepth 1 -print -quit)" ]; then
  echo "files written (allowed folders only):"
  find "$root/var/lib/iamgate" "$root/tmp" -mindepth 1 | sed "s#$root##"
fi

printf '\nimage recipe: every step succeeded\n'
