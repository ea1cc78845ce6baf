// The `audit` section: every problem listed (through the section validator the configuration
// loader runs, and through `iamgate serve`, which also knows the environment), and the trail it
// opens — sinks, the development key generated once in the state folder (never among the
// policies), a key file read, the public key written for verifiers.
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConfiguredAudit, readAuditConfig, readPublicKeys, type AuditConfig } from '../../src/audit/index.js';
import { runCli } from '../../src/cli/cli.js';
import { readConfig } from '../../src/app/index.js';
import { formatProblems } from '../../src/config/index.js';
import { canConnect } from '../support/net.js';
import { freePort, startRedis } from '../support/redis.js';
import { lines, tempDir, type TempDir } from './support.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

const problems = (raw: unknown, development = true, redisConfigured?: boolean): string[] =>
  formatProblems(readAuditConfig(raw, { development, ...(redisConfigured !== undefined ? { redisConfigured } : {}) }).findings);

function configOf(raw: unknown, development = true): AuditConfig {
  const read = readAuditConfig(raw, { development });
  if (!read.config) throw new Error(formatProblems(read.findings).join('\n'));
  return read.config;
}

describe('reading the audit section', () => {
  it('defaults to stdout, durable, refusing when full, signed, digests every 1000 records or 60 s, outcomes of failed forwardings only', () => {
    expect(configOf(undefined)).toEqual({
      sinks: ['stdout'],
      filePath: undefined,
      durability: 'durable',
      whenFull: 'refuse',
      redis: { stream: 'iamgate:audit', maxLen: 1_000_000, whenFull: 'refuse' },
      sign: true,
      signingKeyFile: undefined,
      digestEvery: { records: 1000, ms: 60_000 },
      publicKeyFile: undefined,
      outcomes: 'failures',
    });
  });

  it('takes one sink or a list, with per-sink keys and the Redis sink choosing its own whenFull', () => {
    const config = configOf({ sink: ['file', 'redis'], file: { path: '/var/log/iamgate/audit.jsonl' }, durability: 'batched', redis: { stream: 's', maxLen: 5000, whenFull: 'drop' }, digestEvery: { records: 10, ms: 0 } });
    expect(config).toMatchObject({ sinks: ['file', 'redis'], filePath: '/var/log/iamgate/audit.jsonl', durability: 'batched', whenFull: 'refuse', redis: { stream: 's', maxLen: 5000, whenFull: 'drop' }, digestEvery: { records: 10, ms: 0 } });
    expect(configOf({ sink: 'file', file: { path: 'a.jsonl' } }).sinks).toEqual(['file']);
  });

  it('takes each value of outcomes and refuses any other, naming the values', () => {
    for (const outcomes of ['none', 'failures', 'all']) expect(configOf({ outcomes }).outcomes).toBe(outcomes);
    expect(problems({ outcomes: 'some' })).toEqual([expect.stringMatching(/^\(configuration\): audit\.outcomes: .*none.*failures.*all/)]);
  });

  it('lists every problem at once, each under its key', () => {
    const found = problems({ sink: ['stdout', 'stdout', 'kafka'], whenFull: 'block', durability: 'eventually', redis: { maxLen: 5 }, digestEvery: { records: 0 }, colour: 'red', sign: 'yes', outcomes: true });
    for (const key of ['audit.sink[1]', 'audit.sink[2]', 'audit.whenFull', 'audit.durability', 'audit.redis', 'audit.redis.maxLen', 'audit.digestEvery.records', 'audit.colour', 'audit.sign', 'audit.outcomes']) {
      expect(found.some((p) => p.includes(`${key}: `))).toBe(true);
    }
    expect(problems({ sink: [] })).toEqual(['(configuration): audit.sink: must name at least one sink (every decision is recorded)']);
  });

  it('needs a path for the file sink, Redis for the Redis sink, and no key options when unsigned', () => {
    expect(problems({ sink: 'file' })).toEqual(['(configuration): audit.file.path: the file sink needs a path']);
    expect(problems({ file: { path: 'x' } })).toEqual(['(configuration): audit.file: is set but audit.sink does not include file']);
    expect(problems({ sink: 'redis' }, true, false)).toEqual(['(configuration): audit.sink: the redis sink needs redis.url (or REDIS_URL)']);
    expect(problems({ sink: 'redis' }, true, true)).toEqual([]);
    expect(problems({ sign: false, signingKeyFile: 'k.pem', publicKeyFile: 'p.pem' })).toHaveLength(2);
  });

  it('requires a signing key in production, even with no audit section, unless signing is turned off', () => {
    expect(problems(undefined, false)).toEqual([expect.stringContaining('audit.signingKeyFile: required in production')]);
    expect(problems({ sign: false }, false)).toEqual([]);
    expect(problems({ signingKeyFile: '/etc/iamgate-secrets/audit.pem' }, false)).toEqual([]);
  });

  it('is checked by the configuration loader with the other sections', () => {
    const read = readConfig({ version: 1, mode: 'production', audit: { sink: 'nowhere' } }, {}, '/etc/iamgate/iamgate.yaml');
    expect(read.ok).toBe(false);
    const found = read.ok ? [] : formatProblems(read.problems);
    expect(found).toContain('/etc/iamgate/iamgate.yaml: audit.sink: must be one of stdout, file, redis (got "nowhere")');
    expect(found.some((p) => p.includes('audit.signingKeyFile: required in production'))).toBe(true);
  });
});

describe('iamgate serve in production without an audit signing key', () => {
  it('lists the problem, exits 1 and starts nothing', async () => {
    const port = await freePort();
    const opsPort = await freePort();
    const file = dir.file('production.yaml');
    await writeFile(file, `version: 1\nmode: production\nlisten: { host: 127.0.0.1, port: ${port} }\noperations: { host: 127.0.0.1, port: ${opsPort} }\nauth: { sts: { enabled: false } }\n`);
    await writeFile(dir.file('directory.yaml'), 'version: 1\naccount: "111122223333"\n');
    await writeFile(dir.file('routes.yaml'), 'version: 1\nservice: orders\nroutes: []\n');
    const err: string[] = [];
    const code = await runCli(['serve', '--config', file], { stdout: () => undefined, stderr: (l) => err.push(l) });
    expect(code).toBe(1);
    expect(err.join('\n')).toContain(`${file}: audit.signingKeyFile: required in production`);
    expect(await canConnect(port)).toBe(false);
    expect(await canConnect(opsPort)).toBe(false);
  });
});

describe('opening the configured trail', () => {
  const deps = (name: string) => ({ baseDir: dir.file(name), stateDir: dir.file(`${name}/state`), protectedDirs: [dir.file(`${name}/policies`)], redisUrl: undefined });

  it('generates a development key once in the state folder, reuses it, and writes the public key as PEM', async () => {
    const config = configOf({ sink: 'file', file: { path: 'trail.jsonl' }, publicKeyFile: 'keys/audit-public.pem' });
    const first = await openConfiguredAudit(config, deps('dev'));
    await first.log.record({ kind: 'request', reason: 'allowed', decision: 'Allow', requestId: 'r1' });
    await first.log.close();
    const second = await openConfiguredAudit(config, deps('dev'));
    await second.log.close();
    expect(first.key).toEqual({ file: dir.file('dev/state/audit-signing.pem'), generated: true });
    expect(second.key).toEqual({ file: dir.file('dev/state/audit-signing.pem'), generated: false });
    expect(second.log.publicKey?.kid).toBe(first.log.publicKey?.kid);
    expect(first.publicJwk).toMatchObject({ kid: first.log.publicKey?.kid, alg: 'EdDSA', use: 'sig', kty: 'OKP' });
    const published = readPublicKeys(await readFile(dir.file('dev/keys/audit-public.pem'), 'utf8'));
    expect([...published.keys()]).toEqual([first.log.publicKey?.kid]);
    const trail = (await lines(dir.file('dev/trail.jsonl'))).map((l) => JSON.parse(l) as { kind: string });
    expect(trail.map((r) => r.kind)).toEqual(['audit.start', 'request', 'audit.digest', 'audit.start', 'audit.digest']);
  });

  it('never generates a key inside the policies folder', async () => {
    const config = configOf({ sink: 'file', file: { path: 'trail.jsonl' } });
    const inside = { ...deps('inside'), stateDir: dir.file('inside/policies/.iamgate-state') };
    await expect(openConfiguredAudit(config, inside)).rejects.toThrow(/audit.signingKeyFile: a generated key would be written to .* inside the policies folder/);
  });

  it('reads a P-256 key file and refuses a key of another kind, naming the key', async () => {
    await mkdir(dir.file('keys'), { recursive: true });
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(dir.file('keys/p256.pem'), p256);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    await writeFile(dir.file('keys/rsa.pem'), rsa);
    const opened = await openConfiguredAudit(configOf({ sink: 'file', file: { path: 'p.jsonl' }, signingKeyFile: 'p256.pem' }, false), { ...deps('keys'), baseDir: dir.file('keys') });
    expect(opened.log.publicKey?.alg).toBe('ES256');
    await opened.log.close();
    await expect(openConfiguredAudit(configOf({ sink: 'stdout', signingKeyFile: 'rsa.pem' }, false), { ...deps('keys'), baseDir: dir.file('keys') })).rejects.toThrow(/^audit.signingKeyFile: .*rsa.pem: audit signing key must be Ed25519 or EC P-256/);
    await expect(openConfiguredAudit(configOf({ sink: 'stdout', signingKeyFile: 'absent.pem' }, false), { ...deps('keys'), baseDir: dir.file('keys') })).rejects.toThrow(/absent.pem: file not found/);
  });

  it('writes to the Redis stream the section names, after the file, and the stream verifies with the key', async () => {
    const redis = await startRedis();
    try {
      const stream = `iamgate:audit:test:${Date.now()}`;
      const config = configOf({ sink: ['file', 'redis'], file: { path: 'trail.jsonl' }, redis: { stream, maxLen: 1000 }, publicKeyFile: 'public.pem' });
      const opened = await openConfiguredAudit(config, { ...deps('redis'), redisUrl: redis.url });
      for (let i = 1; i <= 3; i++) await opened.log.record({ kind: 'request', reason: 'allowed', decision: 'Allow', requestId: `r${i}` });
      await opened.log.close();
      expect(Object.keys(opened.log.stats().sinks)).toEqual(['file', 'redis']);
      expect(opened.log.stats().sinks['redis']).toMatchObject({ written: 5, dropped: 0 });
      const out: string[] = [];
      const code = await runCli(['audit', 'verify', '--redis', redis.url, '--stream', stream, '--public-key', dir.file('redis/public.pem')], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
      expect(out.join('\n')).toContain('5 records, 0 other lines: intact');
      expect(code).toBe(0);
    } finally {
      await redis.close();
    }
  });

  it('fails at start, naming the key, when the trail file cannot be opened', async () => {
    await writeFile(dir.file('a-file'), 'not a folder');
    const config = configOf({ sink: 'file', file: { path: join(dir.file('a-file'), 'trail.jsonl') }, sign: false });
    await expect(openConfiguredAudit(config, deps('unwritable'))).rejects.toThrow(/^audit.file.path: .*cannot be opened for appending \((EEXIST|ENOTDIR)\)/);
  });
});
