// Shared by the suites that run the gateway with its configured audit trail: a development
// configuration over the gateway test fixtures with an `audit` section, tokens from `iamgate token`,
// and a reader of the trail file the gateway writes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { startServe, type ServeProcess } from '../deploy/serve-process.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { FIXTURES } from '../support/gateway.js';

export interface ServedFiles {
  readonly dir: string;
  readonly config: string;
  readonly trail: string;
  readonly publicKey: string;
  remove(): Promise<void>;
}

/**
 * Writes a development configuration in a new temporary folder: the gateway fixtures, forward-auth
 * and STS on, and the audit trail in `trail.jsonl` (durable, signed with a key generated in the
 * state folder, its public key written to `audit-public.pem`). `upstream` adds upstream keys;
 * `sink: 'stdout'` writes the trail to standard output instead; `file` adds keys of `audit.file`;
 * `trailPath` puts the trail file elsewhere (an absolute path); `listen` and `operations` add keys of those sections;
 * `issuers` adds entries (flow maps) to `auth.issuers`.
 */
export async function writeServedConfig(o: { port: number; opsPort: number; upstreamUrl: string; upstream?: string; listen?: string; operations?: string; issuers?: readonly string[]; audit?: readonly string[]; sink?: 'file' | 'stdout'; file?: string; trailPath?: string }): Promise<ServedFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-audited-'));
  const text = [
    'version: 1',
    'mode: development',
    `listen: { host: 127.0.0.1, port: ${o.port}${o.listen ? `, ${o.listen}` : ''} }`,
    `operations: { host: 127.0.0.1, port: ${o.opsPort}${o.operations ? `, ${o.operations}` : ''} }`,
    `upstream: { url: "${o.upstreamUrl}"${o.upstream ? `, ${o.upstream}` : ''} }`,
    `policies: { directory: "${FIXTURES.directory}", routes: "${FIXTURES.routes}" }`,
    'forwardAuth: { enabled: true }',
    'audit:',
    ...(o.sink === 'stdout' ? ['  sink: stdout'] : ['  sink: file', `  file: { path: "${o.trailPath ?? 'trail.jsonl'}"${o.file ? `, ${o.file}` : ''} }`]),
    '  publicKeyFile: audit-public.pem',
    ...(o.audit ?? []).map((line) => `  ${line}`),
    'auth:',
    '  issuers:',
    '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
    ...(o.issuers ?? []).map((entry) => `    - ${entry}`),
  ].join('\n');
  const config = join(dir, 'iamgate.yaml');
  await writeFile(config, `${text}\n`);
  return {
    dir,
    config,
    trail: o.trailPath ?? join(dir, 'trail.jsonl'),
    publicKey: join(dir, 'audit-public.pem'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A bearer token for a directory user, minted by `iamgate token` with the configuration's development key. */
export async function tokenFor(config: string, user: string): Promise<string> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(['token', user, '--config', config], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  if (code !== 0) throw new Error(`iamgate token ${user} failed: ${err.join('\n')}`);
  return out.join('').trim();
}

/** One parsed line of the trail. */
export type TrailRecord = Record<string, unknown> & { readonly kind: string; readonly seq: number };

/** The trail's complete records, in file order (a torn last line is left out). */
export async function readTrail(file: string): Promise<TrailRecord[]> {
  const records: TrailRecord[] = [];
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as TrailRecord);
    } catch {
      // an incomplete line cut by a crash
    }
  }
  return records;
}

const NOT_DECISIONS = new Set(['outcome', 'audit.start', 'audit.digest', 'audit.gap']);

/** Decision records (not outcomes or chain records) for one request id. */
export function decisionsFor(records: readonly TrailRecord[], requestId: string): TrailRecord[] {
  return records.filter((r) => r['requestId'] === requestId && !NOT_DECISIONS.has(r.kind));
}

/** Client loops sending allowed and denied requests until told to stop; the request ids of 2xx answers, in order. */
export function load(port: number, token: string, clients: number, stop: () => boolean, onOk: () => void): Promise<string[]> {
  const agent = new Agent({ connections: clients });
  const ok: string[] = [];
  const loop = async (client: number): Promise<void> => {
    for (let i = 0; !stop(); i++) {
      // Every fifth request is one alice may not make (no orders:DeleteOrder): a 403.
      const method = i % 5 === 4 ? 'DELETE' : 'GET';
      try {
        const res = await request(`http://127.0.0.1:${port}/orders/${client}-${i}`, { method, dispatcher: agent, headers: { authorization: `Bearer ${token}` } });
        await res.body.dump();
        const id = res.headers['x-iamgate-request-id'];
        if (res.statusCode >= 200 && res.statusCode < 300 && typeof id === 'string') {
          ok.push(id);
          onOk();
        }
      } catch {
        return; // the gateway is gone
      }
    }
  };
  return Promise.all(Array.from({ length: clients }, (_, c) => loop(c))).then(async () => {
    await agent.destroy();
    return ok;
  });
}

/**
 * Keeps a served gateway busy with `clients` client loops and kills it with SIGKILL once it has
 * answered `beforeKill` requests 2xx (or 20 s have passed); the request ids of the 2xx answers.
 */
export async function loadThenKill(server: ServeProcess, token: string, clients: number, beforeKill: number): Promise<{ killed: boolean; ok: string[] }> {
  let killed = false;
  let seen = 0;
  const deadline = Date.now() + 20_000;
  const ok = await load(server.gatewayPort, token, clients, () => killed || Date.now() > deadline, () => {
    seen += 1;
    if (seen >= beforeKill && !killed) {
      killed = true;
      server.signal('SIGKILL');
    }
  });
  await server.exit;
  return { killed, ok };
}

/**
 * For a suite of real `iamgate serve` processes: an upstream for the whole suite, and `serveWith`,
 * which starts one with its trail in a durable file (digests every 50 records; `file` adds keys of
 * `audit.file`). Every process and folder is removed after the suite.
 */
export function servedSuite(): { serveWith(file?: string): Promise<{ files: ServedFiles; server: ServeProcess }> } {
  let upstream: TestUpstream | undefined;
  const cleanup: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    upstream = await startTestUpstream();
  }, 30_000);
  afterAll(async () => {
    for (const done of cleanup.reverse()) await done();
    await upstream?.close();
  });
  return {
    async serveWith(file) {
      const files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream!.url, audit: ['digestEvery: { records: 50 }'], ...(file ? { file } : {}) });
      cleanup.push(() => files.remove());
      const server = await startServe(files.config, {});
      cleanup.push(() => server.kill());
      return { files, server };
    },
  };
}
