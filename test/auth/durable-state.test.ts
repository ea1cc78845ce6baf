// The in-process state store whose state is kept in files: the hashes (session revocations) and
// the values with their expiries (TOTP replay marks, failed-attempt counters, lockouts). What one
// instance wrote is there when the next opens the files, and a change it cannot write fails.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateUnavailableError, type DurableStateFiles } from '../../src/auth/index.js';
import { openDurableStateStore } from '../../src/auth/state/durable-state.js';

describe('the durable state store', () => {
  let dir: string;
  let files: DurableStateFiles;
  let time: number;
  const now = (): number => time;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-durable-'));
    files = { hashes: join(dir, 'state', 'revocations.json'), values: join(dir, 'state', 'mfa-attempts.json') };
    time = 1_000_000;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('hands the next store opened on the files every field raised, set or pruned, __proto__ among them', async () => {
    const first = await openDurableStateStore(files);
    await first.hashRaise('revocations', 'arn:a', 5000);
    await first.hashRaise('revocations', '__proto__', 7000);
    await first.hashSet('revocations', 'arn:gone', '10');
    expect(await first.hashPrune('revocations', 1000)).toBe(1);
    const second = await openDurableStateStore(files);
    expect(Object.fromEntries(await second.hashGetAll('revocations'))).toEqual(Object.fromEntries([['arn:a', '5000'], ['__proto__', '7000']]));
  });

  it('keeps the revocations file to hashes, and the values in a file of their own', async () => {
    const first = await openDurableStateStore(files, { now });
    await first.set('totp:used', '1', 60_000);
    await first.hashRaise('revocations', 'arn:a', 5000);
    expect(JSON.parse(await readFile(files.hashes, 'utf8'))).toEqual({ revocations: { 'arn:a': '5000' } });
    expect(JSON.parse(await readFile(files.values, 'utf8'))).toEqual({ 'totp:used': { value: '1', expiresAt: time + 60_000 } });
  });

  it('hands the next store a replay mark, a counter and a lock until each expires, and refuses the mark again', async () => {
    const first = await openDurableStateStore(files, { now });
    expect(await first.setIfAbsent('mfa:used:alice:1', '1', 120_000)).toBe(true);
    await first.incr('mfa:failures:bob', 60_000);
    await first.incr('mfa:failures:bob', 60_000);
    await first.set('mfa:lock:carol', '1900000', 900_000);
    time += 30_000;
    const second = await openDurableStateStore(files, { now });
    expect(await second.setIfAbsent('mfa:used:alice:1', '1', 120_000)).toBe(false);
    expect(await second.incr('mfa:failures:bob', 60_000)).toBe(3);
    expect(await second.get('mfa:lock:carol')).toBe('1900000');
    // The counter keeps the expiry it had: it does not start a new window on the restart.
    time += 30_000;
    const third = await openDurableStateStore(files, { now });
    expect([await third.get('mfa:failures:bob'), await third.get('mfa:used:alice:1')]).toEqual([undefined, '1']);
  });

  it('leaves expired values out of the file with the next write', async () => {
    const store = await openDurableStateStore(files, { now });
    await store.set('mfa:used:alice:1', '1', 1000);
    time += 1000;
    await store.set('mfa:used:alice:2', '1', 1000);
    expect(Object.keys(JSON.parse(await readFile(files.values, 'utf8')) as object)).toEqual(['mfa:used:alice:2']);
  });

  it('holds at most maxValues values in the file, leaving out those that expire first', async () => {
    const store = await openDurableStateStore(files, { now, maxValues: 3 });
    for (let i = 1; i <= 5; i++) await store.incr(`mfa:failures:made-up-${i}`, i * 1000);
    expect(Object.keys(JSON.parse(await readFile(files.values, 'utf8')) as object).sort()).toEqual(['mfa:failures:made-up-3', 'mfa:failures:made-up-4', 'mfa:failures:made-up-5']);
    // This process still holds the ones left out.
    expect(await store.get('mfa:failures:made-up-1')).toBe('1');
  });

  it('fails a change it cannot write, so no revocation or replay mark is acknowledged that a restart would lose', async () => {
    const store = await openDurableStateStore(files);
    // Directories where the files should be: a new file cannot be renamed over them.
    await mkdir(files.hashes, { recursive: true });
    await mkdir(files.values, { recursive: true });
    await expect(store.hashRaise('revocations', 'arn:b', 6000)).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(store.setIfAbsent('mfa:used:alice:1', '1', 120_000)).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(store.incr('mfa:failures:alice', 60_000)).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it('refuses to open over a values file it cannot read, naming it', async () => {
    await mkdir(join(dir, 'state'));
    await writeFile(files.values, '{"mfa:used:alice:1": ');
    await expect(openDurableStateStore(files)).rejects.toThrow(/mfa-attempts\.json/);
    await writeFile(files.values, '{"mfa:used:alice:1": {"value": 1, "expiresAt": null}}');
    await expect(openDurableStateStore(files)).rejects.toThrow(/mfa-attempts\.json/);
  });
});
