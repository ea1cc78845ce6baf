// Shared by the suites that run the gateway with its configured audit trail: a development
// configuration over the gateway test fixtures with an `audit` section, tokens from `iamgate token`,
// and a reader of the trail file the gateway writes.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/cli.js';
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
 * `sink: 'stdout'` writes the trail to standard output instead.
 */
export async function writeServedConfig(o: { port: number; opsPort: number; upstreamUrl: string; upstream?: string; audit?: readonly string[]; sink?: 'file' | 'stdout' }): Promise<ServedFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-audited-'));
  const text = [
    'version: 1',
    'mode: development',
    `listen: { host: 127.0.0.1, port: ${o.port} }`,
    `operations: { host: 127.0.0.1, port: ${o.opsPort} }`,
    `upstream: { url: "${o.upstreamUrl}"${o.upstream ? `, ${o.upstream}` : ''} }`,
    `policies: { directory: "${FIXTURES.directory}", routes: "${FIXTURES.routes}" }`,
    'forwardAuth: { enabled: true }',
    'audit:',
    ...(o.sink === 'stdout' ? ['  sink: stdout'] : ['  sink: file', '  file: { path: trail.jsonl }']),
    '  publicKeyFile: audit-public.pem',
    ...(o.audit ?? []).map((line) => `  ${line}`),
    'auth:',
    '  issuers:',
    '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
  ].join('\n');
  const config = join(dir, 'iamgate.yaml');
  await writeFile(config, `${text}\n`);
  return {
    dir,
    config,
    trail: join(dir, 'trail.jsonl'),
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
