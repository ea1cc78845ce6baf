// The in-process state store whose hashes (the session revocations) are kept in a file: what one
// instance raised is there when the next opens the file, and a change it cannot write fails.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateUnavailableError } from '../../src/auth/index.js';
import { openDurableHashStore } from '../../src/auth/state/durable-hashes.js';

describe('the durable hash store', () => {
  let dir: string;
  let file: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-durable-'));
    file = join(dir, 'state', 'revocations.json');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('hands the next store opened on the file every field raised, set or pruned, __proto__ among them', async () => {
    const first = await openDurableHashStore(file);
    await first.hashRaise('revocations', 'arn:a', 5000);
    await first.hashRaise('revocations', '__proto__', 7000);
    await first.hashSet('revocations', 'arn:gone', '10');
    expect(await first.hashPrune('revocations', 1000)).toBe(1);
    const second = await openDurableHashStore(file);
    expect(Object.fromEntries(await second.hashGetAll('revocations'))).toEqual(Object.fromEntries([['arn:a', '5000'], ['__proto__', '7000']]));
  });

  it('keeps no value other than hashes: a TOTP mark lives in memory only', async () => {
    const first = await openDurableHashStore(file);
    await first.set('totp:used', '1', 60_000);
    await first.hashRaise('revocations', 'arn:a', 5000);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ revocations: { 'arn:a': '5000' } });
  });

  it('fails a change it cannot write, so no revocation is acknowledged that a restart would lose', async () => {
    const store = await openDurableHashStore(file);
    // A directory where the file should be: the new file cannot be renamed over it.
    await mkdir(file, { recursive: true });
    await expect(store.hashRaise('revocations', 'arn:b', 6000)).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
