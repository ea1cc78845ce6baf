import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { loadConfig as loadIamgateConfig } from '../../src/app/index.js';
import { DEFAULTS, formatProblems, loadConfig, readConfig } from '../../src/config/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-config-'));
  await writeFile(join(dir, 'directory.yaml'), 'version: 1\n');
  await writeFile(join(dir, 'routes.yaml'), 'version: 1\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function write(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

describe('configuration loading', () => {
  it('fills every default and resolves policy files against the config file', async () => {
    const file = await write('min.yaml', 'version: 1\n');
    const r = await loadConfig({ file, env: {} });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.listen.port).toBe(8400);
    expect(r.config.operations.port).toBe(8401);
    expect(r.config.upstream).toMatchObject(DEFAULTS.upstream);
    expect(r.config.mode).toBe('production');
    expect(r.config.operations.operatorEndpoints).toBe(false);
    expect(r.config.policies).toEqual({ directory: join(dir, 'directory.yaml'), routes: join(dir, 'routes.yaml'), watch: true });
    expect(r.config.redis.url).toBeUndefined();
    expect(r.config.file).toBe(file);
  });

  it('resolves policies.shadow, the candidate folder of shadow evaluation, against the config file', async () => {
    const file = await write('shadow.yaml', 'version: 1\npolicies: { shadow: candidate }\n');
    const r = await loadConfig({ file, env: {} });
    expect(r.ok && r.config.policies.shadow).toBe(join(dir, 'candidate'));
  });

  it('applies the environment overrides deployments rely on', async () => {
    const file = await write('env.yaml', 'version: 1\nlisten: { port: 9000 }\nupstream: { url: "http://127.0.0.1:1" }\n');
    const r = await loadConfig({
      env: { IAMGATE_CONFIG: file, IAMGATE_PORT: '9100', IAMGATE_OPS_PORT: '9101', IAMGATE_UPSTREAM: 'http://10.0.0.7:8080', REDIS_URL: 'redis://cache:6379/2', IAMGATE_LOG_LEVEL: 'debug' },
    });
    expect(r.ok && { port: r.config.listen.port, ops: r.config.operations.port, up: r.config.upstream.url, redis: r.config.redis.url, level: r.config.logging.level }).toEqual({
      port: 9100,
      ops: 9101,
      up: 'http://10.0.0.7:8080',
      redis: 'redis://cache:6379/2',
      level: 'debug',
    });
  });

  it('names the keys a section takes when the section is written as a value', async () => {
    const file = await write('flat.yaml', 'version: 1\nmode: development\nupstream: http://127.0.0.1:8080\ncache: { l1: 500 }\n');
    const r = await loadIamgateConfig({ file, env: {} });
    expect(r.ok ? [] : formatProblems(r.problems)).toEqual([
      `${file}: upstream: must be a mapping of its keys (url, connections, connectTimeoutMs, headersTimeoutMs, idleTimeoutMs, keepAliveTimeoutMs, forwardAuthorization, preserveHost)`,
      `${file}: cache.l1: must be a mapping of its keys (enabled, maxEntries, ttlSeconds)`,
    ]);
  });

  it('lists every problem with its file, key and reason', async () => {
    const file = await write(
      'bad.yaml',
      `version: 2
mode: staging
colour: blue
listen: { port: 70000, host: "" }
operations: { port: 8400 }
upstream: { url: "ftp://x/y", connections: 0, forwardAuthorization: "yes" }
limits: { maxBodyBytes: -1 }
paths: { allowSemicolon: 1, refuseNonNfkc: "yes", extra: true }
headers: { passThrough: [x-iamgate-principal, content-type], allowAll: true }
trustedProxies: [10.0.0.0/8, 300.1.1.1, "fd00::/200"]
policies: { directory: missing.yaml }
logging: { level: loud }
auth: { issuers: [ { name: x } ] }
`,
    );
    const r = await loadIamgateConfig({ file, env: { IAMGATE_OPS_PORT: 'eighty' } });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const got = r.problems.map((p) => `${p.file === file ? 'FILE' : p.file}:${p.path}`);
    expect(got).toEqual(
      expect.arrayContaining([
        'FILE:version',
        'FILE:mode',
        'FILE:colour',
        'FILE:listen.port',
        'FILE:listen.host',
        'FILE:upstream.url',
        'FILE:upstream.connections',
        'FILE:upstream.forwardAuthorization',
        'FILE:limits.maxBodyBytes',
        'FILE:paths.allowSemicolon',
        'FILE:paths.refuseNonNfkc',
        'FILE:paths.extra',
        'FILE:headers.passThrough[0]',
        'FILE:headers.passThrough[1]',
        'FILE:headers.allowAll',
        'FILE:trustedProxies[1]',
        'FILE:trustedProxies[2]',
        'FILE:logging.level',
        'FILE:policies.directory',
        '(environment):IAMGATE_OPS_PORT',
      ]),
    );
    expect(got.some((g) => g.startsWith('FILE:auth.issuers[0]'))).toBe(true);
    expect(formatProblems(r.problems).every((line) => line.split(': ').length >= 3)).toBe(true);
  });

  it('says which log level IAMGATE_LOG_LEVEL gave when it is not one, as the other overrides say their value', () => {
    const r = readConfig({ version: 1 }, { IAMGATE_LOG_LEVEL: 'verbose' }, undefined);
    expect(r.ok ? [] : formatProblems(r.problems)).toEqual(['(environment): IAMGATE_LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")']);
  });

  it('refuses the same port for the gateway and the operations listener', () => {
    const r = readConfig({ version: 1, listen: { port: 9000 }, operations: { port: 9000 } }, {}, undefined);
    expect(r.ok ? [] : r.problems.map((p) => p.path)).toEqual(['operations.port']);
  });

  it('blames the variable, not the file, when IAMGATE_PORT or IAMGATE_OPS_PORT makes the two ports the same', () => {
    const file = '/etc/iamgate/iamgate.yaml';
    const doc = { version: 1, listen: { port: 8400 }, operations: { port: 8401 } };
    const byGateway = readConfig(doc, { IAMGATE_PORT: '8401' }, file);
    expect(byGateway.ok ? [] : formatProblems(byGateway.problems)).toEqual([
      "(environment): IAMGATE_PORT: 8401 is both the gateway's port (IAMGATE_PORT) and the operations port (operations.port): they must differ; move one with IAMGATE_PORT or IAMGATE_OPS_PORT",
    ]);
    const byOps = readConfig(doc, { IAMGATE_OPS_PORT: '8400' }, file);
    expect(byOps.ok ? [] : formatProblems(byOps.problems)).toEqual([
      "(environment): IAMGATE_OPS_PORT: 8400 is both the gateway's port (listen.port) and the operations port (IAMGATE_OPS_PORT): they must differ; move one with IAMGATE_PORT or IAMGATE_OPS_PORT",
    ]);
    const inFile = readConfig({ ...doc, operations: { port: 8400 } }, {}, file);
    expect(inFile.ok ? [] : formatProblems(inFile.problems)).toEqual([
      `${file}: operations.port: 8400 is both the gateway's port (listen.port) and the operations port (operations.port): they must differ; change one of them`,
    ]);
  });

  it('refuses an upstream URL with a path or credentials, and a malformed Redis URL', () => {
    const r = readConfig({ version: 1, upstream: { url: 'http://user:pw@svc:80/api' } }, { REDIS_URL: 'http://nope' }, undefined);
    expect(r.ok ? [] : r.problems.map((p) => [p.path, p.message])).toEqual([
      ['upstream.url', 'must not carry credentials'],
      ['REDIS_URL', '"http:" is not redis: or rediss:'],
    ]);
  });

  it('says a REDIS_URL that is not a URL at all is not one, with the form it takes, never repeating its text', () => {
    const r = readConfig({ version: 1 }, { REDIS_URL: 'redis://:hunter2@' }, undefined);
    expect(r.ok ? [] : r.problems.map((p) => [p.path, p.message])).toEqual([
      ['REDIS_URL', 'not a URL such as redis://:PASSWORD@HOST:6379/0 (the value is not shown: it may hold a password)'],
    ]);
  });

  it('reports YAML syntax errors with their line, and an unreadable file', async () => {
    const file = await write('syntax.yaml', 'version: 1\nlisten:\n  port: [\n');
    const r = await loadConfig({ file, env: {} });
    expect(r.ok ? '' : r.problems[0]!.message).toMatch(/line \d+, column \d+/);
    const missing = await loadConfig({ file: join(dir, 'nope.yaml'), env: {} });
    expect(missing.ok ? '' : missing.problems[0]!.code).toBe('FILE_UNREADABLE');
  });

  it('says why a directory or route map it names cannot be read: missing, or a symbolic link loop, not both "not found"', async () => {
    const loop = join(dir, 'loop-directory.yaml');
    await symlink(loop, loop);
    const file = await write('loop.yaml', `version: 1\npolicies: { directory: ${loop}, routes: ${join(dir, 'absent-routes.yaml')} }\n`);
    const r = await loadConfig({ file, env: {} });
    expect(r.ok ? [] : r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual([
      `policies.directory: cannot read ${loop}: too many symbolic links`,
      `policies.routes: cannot read ${join(dir, 'absent-routes.yaml')}: no such file or folder`,
    ]);
  });

  it('limits a WebSocket tunnel to one hour by default, takes 0 for no limit, and refuses a negative or unknown websocket key', () => {
    const defaults = readConfig({ version: 1 }, {}, undefined);
    expect(defaults.ok && defaults.config.websocket).toEqual({ maxLifetimeMs: 3_600_000 });
    const unlimited = readConfig({ version: 1, websocket: { maxLifetimeMs: 0 } }, {}, undefined);
    expect(unlimited.ok && unlimited.config.websocket.maxLifetimeMs).toBe(0);
    const bad = readConfig({ version: 1, websocket: { maxLifetimeMs: -1, maxLifetime: 5 } }, {}, undefined);
    expect(bad.ok ? [] : bad.problems.map((p) => p.path).sort()).toEqual(['websocket.maxLifetime', 'websocket.maxLifetimeMs']);
  });

  it('turns the operator endpoints on by default only in development mode', () => {
    const dev = readConfig({ version: 1, mode: 'development' }, {}, undefined);
    expect(dev.ok && dev.config.operations.operatorEndpoints).toBe(true);
  });
});

describe('iamgate validate on a configuration file', () => {
  it('lists its problems and exits 1, and accepts the example', async () => {
    const file = await write('iamgate.yaml', 'version: 1\nlisten: { port: "x" }\nupstream: { url: "http://svc/path" }\n');
    const out: string[] = [];
    expect(await runCli(['validate', file], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) })).toBe(1);
    expect(out.join('\n')).toContain('listen.port');
    expect(out.join('\n')).toContain('upstream.url');
    const example = fileURLToPath(new URL('../../policies/iamgate.yaml', import.meta.url));
    expect(await runCli(['validate', example], { stdout: () => undefined, stderr: () => undefined })).toBe(0);
  });
});
