// `npm run bench -- extauthz`: the ways to put iamgate in front of a service, measured in one run
// with interleaved rounds. One `iamgate serve` (the quick start, plus the gRPC ext_authz port)
// answers every iamgate case: gRPC Check as Envoy would call it (one client connection, and
// several), HTTP forward-auth (`/.iamgate/authz`), and the full proxy; nginx alone and nginx +
// `auth_request` to iamgate (the tested config of docs/forward-auth.md) run in front of the same
// tiny upstream. Every case keeps CONNECTIONS requests in flight. HTTP cases are driven by wrk;
// gRPC checks by @grpc/grpc-js in this process (wrk cannot speak gRPC), whose own cost lands in
// the gRPC latencies. Figures: docs/benchmarks.md ("Deployments").
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { extAuthzClient, type ExtAuthzClient } from '../test/support/grpc.js';
import { NGINX_BINARY, startNginx, type RunningNginx } from '../test/support/nginx.js';
import { freePort } from '../test/support/redis.js';
import { startTinyUpstream } from './proxy.js';
import { percentile, report, type BenchResult } from './report.js';
import { quickStartToken, quickStartYaml, serve, stopServed } from './serve.js';
import { median, treeTicks, TICKS, wrk } from './wrk.js';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? '3');
const SECONDS = process.env['BENCH_SECONDS'] ?? '3';
/** Requests in flight per case; nginx + auth_request holds three sockets per request, within its 64 worker connections. */
const CONNECTIONS = 16;
const GRPC_CONNECTIONS = 4;

interface Round {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  /** iamgate's CPU µs per request. */
  readonly cpu: number;
}

/** Keeps CONNECTIONS checks in flight over `clients` for SECONDS; every answer must be an allow. */
async function grpcRound(clients: readonly ExtAuthzClient[], request: unknown, pid: number): Promise<Round> {
  const before = treeTicks(pid);
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + Number(SECONDS) * 1000;
  const worker = async (client: ExtAuthzClient): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      const answer = await client.check(request);
      if (answer.status?.code !== 0) throw new Error(`the benchmark check was not allowed: ${JSON.stringify(answer.status)}`);
      latencies.push((performance.now() - t) * 1000);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => worker(clients[i % clients.length]!)));
  const sorted = Float64Array.from(latencies).sort();
  const cpu = ((treeTicks(pid) - before) * 1e6) / TICKS / latencies.length;
  return { rps: (latencies.length * 1000) / (performance.now() - start), p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), cpu };
}

/** CONNECTIONS requests in flight for SECONDS with wrk, and iamgate's CPU µs a request. */
async function httpRound(url: string, headers: readonly string[], pid: number): Promise<Round> {
  const before = treeTicks(pid);
  const r = await wrk({ url, headers, connections: CONNECTIONS, seconds: Number(SECONDS) });
  return { rps: r.rps, p50: r.p50, p99: r.p99, cpu: ((treeTicks(pid) - before) * 1e6) / TICKS / r.requests };
}

/** nginx's `auth_request` config from docs/forward-auth.md, asking iamgate at `iamgate` before proxying to `upstream`. */
function authRequestServer(iamgate: string, upstream: string): string {
  return [
    'location = /_iamgate {',
    '  internal;',
    `  proxy_pass ${iamgate}/.iamgate/authz;`,
    '  proxy_pass_request_body off;',
    '  proxy_set_header Content-Length "";',
    '  proxy_set_header X-Original-URI $request_uri;',
    '  proxy_set_header X-Original-Method $request_method;',
    '}',
    'location / {',
    '  auth_request /_iamgate;',
    '  auth_request_set $iamgate_principal $upstream_http_x_iamgate_principal;',
    '  auth_request_set $iamgate_request_id $upstream_http_x_iamgate_request_id;',
    '  proxy_set_header X-Iamgate-Principal $iamgate_principal;',
    '  proxy_set_header X-Iamgate-Request-Id $iamgate_request_id;',
    `  proxy_pass ${upstream};`,
    '}',
  ].join('\n');
}

export async function runExtAuthzBench(): Promise<void> {
  if (spawnSync('wrk', ['--version']).error || !NGINX_BINARY) {
    console.log('\n## extauthz\n\nskipped: wrk or nginx is not installed');
    return;
  }
  const { port: upstreamPort, process: upstream } = await startTinyUpstream();
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}`;
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-extauthz-bench-'));
  const grpcPort = await freePort();
  const config = join(dir, 'iamgate.yaml');
  await writeFile(config, `${await quickStartYaml()}\nextAuthz: { grpc: { host: 127.0.0.1, port: ${grpcPort} } }\n`);
  const served = await serve(config, upstreamUrl, []);
  const pid = served.child.pid!;
  const nginx: RunningNginx[] = [];
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const one = [extAuthzClient(grpcAddress)];
  const several = Array.from({ length: GRPC_CONNECTIONS }, () => extAuthzClient(grpcAddress, { ownConnection: true }));
  try {
    const alone = await startNginx(`location / { proxy_pass ${upstreamUrl}; }`);
    nginx.push(alone);
    const guarded = await startNginx(authRequestServer(served.url, upstreamUrl));
    nginx.push(guarded);
    const authorization = `Bearer ${quickStartToken('alice')}`;
    const check = { attributes: { request: { http: { method: 'GET', path: '/orders/1', host: 'orders.example', headers: { authorization } } } } };
    const header = `Authorization: ${authorization}`;
    const cases: { name: string; run: () => Promise<Round> }[] = [
      { name: 'upstream direct', run: () => httpRound(`${upstreamUrl}/orders/1`, [], upstream.pid!) },
      { name: `gRPC ext_authz Check, 1 connection`, run: () => grpcRound(one, check, pid) },
      { name: `gRPC ext_authz Check, ${GRPC_CONNECTIONS} connections`, run: () => grpcRound(several, check, pid) },
      {
        name: 'HTTP forward-auth (/.iamgate/authz)',
        run: () => httpRound(`${served.url}/.iamgate/authz`, [header, 'X-Original-Method: GET', 'X-Original-URI: /orders/1'], pid),
      },
      { name: 'iamgate full proxy', run: () => httpRound(`${served.url}/orders/1`, [header], pid) },
      { name: 'nginx alone', run: () => httpRound(`${alone.url}/orders/1`, [], pid) },
      { name: 'nginx + auth_request to iamgate', run: () => httpRound(`${guarded.url}/orders/1`, [header], pid) },
    ];
    // Every HTTP case must measure an allowed request reaching its answer, not a refusal.
    for (const [url, headers] of [
      [`${served.url}/.iamgate/authz`, { authorization, 'x-original-method': 'GET', 'x-original-uri': '/orders/1' }],
      [`${served.url}/orders/1`, { authorization }],
      [`${guarded.url}/orders/1`, { authorization }],
    ] as const) {
      const res = await fetch(url, { headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}, not 200`);
    }
    const samples = cases.map(() => ({ rps: [] as number[], p50: [] as number[], p99: [] as number[], cpu: [] as number[] }));
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, c] of cases.entries()) {
        const r = await c.run();
        samples[i]!.rps.push(r.rps);
        samples[i]!.p50.push(r.p50);
        samples[i]!.p99.push(r.p99);
        samples[i]!.cpu.push(r.cpu);
      }
    }
    const results: BenchResult[] = cases.map((c, i) => ({
      name: c.name,
      opsPerSec: median(samples[i]!.rps),
      p50us: median(samples[i]!.p50),
      p99us: median(samples[i]!.p99),
      note: `median of ${ROUNDS} interleaved rounds${i === 0 || c.name === 'nginx alone' ? '' : `; iamgate CPU ${median(samples[i]!.cpu).toFixed(0)} µs/request`}`,
    }));
    report(`extauthz (deployments: ${CONNECTIONS} in flight, ${SECONDS}s rounds, loopback, cached allow as alice)`, results);
  } finally {
    for (const c of [...one, ...several]) c.close();
    for (const n of nginx) await n.close();
    await stopServed(served);
    upstream.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
