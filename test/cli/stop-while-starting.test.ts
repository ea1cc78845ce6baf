// A stop asked for while `iamgate serve` starts (a pod deleted as it comes up, Ctrl+C during a
// slow start) must end in the graceful stop, not in Node's default for the signal, which ends the
// process at once with the audit trail's last records and the state folder's lock left behind.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { INSTANCE_LOCK } from '../../src/auth/index.js';
import { freePort } from '../support/redis.js';
import { exampleProductionConfig, useTempDir } from '../support/serve-process.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/stop-while-starting.ts', import.meta.url));
const TWICE = fileURLToPath(new URL('./fixtures/stop-twice-while-starting.ts', import.meta.url));

/** Runs `fixture --config file` with free ports; resolves with how it ended and what it printed. */
async function runFixture(fixture: string, file: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  const env = { ...process.env, IAMGATE_LOG_LEVEL: 'info', IAMGATE_PORT: String(await freePort()), IAMGATE_OPS_PORT: String(await freePort()) };
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, '--config', file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
  return { code, signal, output };
}
const dir = useTempDir('iamgate-stop-while-starting-');

describe('a SIGTERM that arrives while serve starts', () => {
  // The fixture signals itself before serve's first await, so the signal is read while serve is
  // still starting; were it read only after, the graceful stop this test expects would follow too.
  it('is held until the start has finished, then stops gracefully: exit 0, the stop logged, the state folder let go', async () => {
    const file = await exampleProductionConfig(dir(), 'held');
    const { code, signal, output } = await runFixture(FIXTURE, file);
    expect({ code, signal }, output).toEqual({ code: 0, signal: null });
    const listening = output.indexOf('iamgate listening');
    expect(listening, output).toBeGreaterThanOrEqual(0);
    expect(output.indexOf('"signal":"SIGTERM"', listening), output).toBeGreaterThan(listening);
    expect(existsSync(join(dir(), 'held-state', INSTANCE_LOCK))).toBe(false);
  }, 120_000);

  it('ends the process at once when asked twice, exit 1, saying so in one line, before it listens', async () => {
    const file = await exampleProductionConfig(dir(), 'twice');
    const { code, signal, output } = await runFixture(TWICE, file);
    expect({ code, signal }, output).toEqual({ code: 1, signal: null });
    expect(output).toContain('iamgate serve: SIGINT again while starting; exiting without a graceful stop');
    expect(output).not.toContain('iamgate listening');
  }, 120_000);
});
