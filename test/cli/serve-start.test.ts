// What `iamgate serve` says, as the real process prints it, about what a newcomer's machine often
// has: a port already taken, Redis named but not running, an upstream not answering yet. Each is
// said once, naming the setting, with no stack trace.
import { createServer, type AddressInfo, type Server } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/redis.js';
import { exampleProductionConfig, metricValue, serve, useTempDir, type ServeChild } from '../support/serve-process.js';

const dir = useTempDir('iamgate-serve-start-');
const running: ServeChild[] = [];
const held: Server[] = [];

afterEach(async () => {
  for (const child of running.splice(0)) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  for (const server of held.splice(0)) await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A production configuration on loopback over the example policies, with its state in the suite's folder. */
const configFile = (name: string, extra: readonly string[] = []): Promise<string> => exampleProductionConfig(dir(), name, extra);

/** Starts serve on `file` with free gateway and operations ports (unless `env` names them) and info logging. */
async function start(file: string, env: Record<string, string>): Promise<{ child: ServeChild; opsPort: number }> {
  const opsPort = await freePort();
  const child = serve(['--config', file], { env: { IAMGATE_PORT: String(await freePort()), IAMGATE_OPS_PORT: String(opsPort), IAMGATE_LOG_LEVEL: 'info', ...env } });
  running.push(child);
  return { child, opsPort };
}

/** Polls until `check` holds, failing with the process's output if it has not within 90 s (a cold tsx start is slow). */
async function until(child: ServeChild, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (!(await check().catch(() => false))) {
    if (child.process.exitCode !== null || Date.now() > deadline) throw new Error(`serve never had ${what}:\n${child.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const logLines = (child: ServeChild): Record<string, unknown>[] =>
  child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{"level"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('iamgate serve at start', () => {
  it('exits 1 with one line naming the taken gateway port and IAMGATE_PORT, and prints no stack trace', async () => {
    const taken = createServer();
    held.push(taken);
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    const { child } = await start(await configFile('port-taken'), { IAMGATE_PORT: String(port) });
    expect(await child.exit).toBe(1);
    const text = child.output();
    expect(text).toContain(`iamgate serve: 127.0.0.1:${port}, the gateway port (listen.port, IAMGATE_PORT), is already in use`);
    expect(text).not.toMatch(/"stack"|\n\s+at /);
  }, 120_000);

  it('says once that the Redis REDIS_URL names does not answer, where (without its password) and why, and stays not ready', async () => {
    const redisPort = await freePort();
    const { child, opsPort } = await start(await configFile('no-redis'), { REDIS_URL: `redis://:s3cr3t-pw@127.0.0.1:${redisPort}` });
    // Three failed refreshes of the revocation list: each used to log the client's own error again.
    await until(child, 'three failed revocation refreshes', async () => {
      const page = await (await request(`http://127.0.0.1:${opsPort}/metrics`)).body.text();
      return metricValue(page, 'iamgate_redis_errors_total', { operation: 'revocation' }) >= 3;
    });
    const ready = await request(`http://127.0.0.1:${opsPort}/readyz`);
    expect(ready.statusCode).toBe(503);
    expect(((await ready.body.json()) as { reasons: string[] }).reasons).toContain('revocation state not read yet');
    const said = logLines(child).filter((l) => String(l['msg']).startsWith('redis unavailable'));
    expect(said).toEqual([expect.objectContaining({ redis: `redis://127.0.0.1:${redisPort} (redis.url or REDIS_URL)`, err: `connect ECONNREFUSED 127.0.0.1:${redisPort}` })]);
    expect(logLines(child).filter((l) => l['msg'] === 'authentication background error')).toEqual([]);
    expect(child.output()).not.toContain('s3cr3t-pw');
  }, 120_000);

  it('exits 1 on a stop whose audit sink cannot write its last records, saying why in one line without a stack', async () => {
    const redisPort = await freePort();
    const { child, opsPort } = await start(await configFile('no-redis-sink', ['audit: { sign: false, sink: [stdout, redis] }']), { REDIS_URL: `redis://127.0.0.1:${redisPort}` });
    await until(child, 'its operations port', async () => {
      const res = await request(`http://127.0.0.1:${opsPort}/healthz`);
      await res.body.dump();
      return res.statusCode === 200;
    });
    child.process.kill('SIGTERM');
    expect(await child.exit).toBe(1);
    expect(logLines(child).filter((l) => l['msg'] === 'shutdown failed')).toEqual([expect.objectContaining({ level: 50, err: 'audit sink redis: Redis unavailable' })]);
    expect(child.output()).not.toMatch(/"stack"|\n\s+at /);
  }, 120_000);

  it('exits 1 instead of hanging, with one line naming audit.file.path and why, when its folder cannot be made (under /proc)', async () => {
    const path = `/proc/iamgate-no-such-${process.pid}/audit/audit.jsonl`;
    const { child } = await start(await configFile('proc-audit', [`audit: { sign: false, sink: [file], file: { path: ${path} } }`]), {});
    expect(await child.exit).toBe(1);
    const text = child.output();
    expect(text).toContain(`audit.file.path: ${path}: cannot be opened for appending (ENOENT): folder /proc/iamgate-no-such-${process.pid} cannot be created`);
    expect(text).not.toMatch(/"stack"|\n\s+at /);
  }, 120_000);

  it('starts, ready, when its upstream does not answer, and says so once naming upstream.url and IAMGATE_UPSTREAM', async () => {
    const upstream = `http://127.0.0.1:${await freePort()}`;
    const { child, opsPort } = await start(await configFile('no-upstream'), { IAMGATE_UPSTREAM: upstream });
    await until(child, 'ready', async () => {
      const res = await request(`http://127.0.0.1:${opsPort}/readyz`);
      await res.body.dump();
      return res.statusCode === 200;
    });
    await until(child, 'the upstream warning', async () => child.output().includes('upstream not answering'));
    expect(logLines(child).filter((l) => String(l['msg']).startsWith('upstream not answering'))).toEqual([
      expect.objectContaining({ level: 40, upstream, setting: 'upstream.url, IAMGATE_UPSTREAM', reason: 'ECONNREFUSED' }),
    ]);
  }, 120_000);
});
