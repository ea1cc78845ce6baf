// The MFA secrets file is shared by every process of one instance (the workers of `serve
// --workers N`): writes from two processes at once must not lose each other's secrets. Two stores
// on one file stand for two processes (each serialises only its own writes).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSecretStore, underFileLock } from '../../src/auth/index.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const LOCK_HOLDER = new URL('./fixtures/lock-holder.ts', import.meta.url).pathname;

describe('the MFA secrets file written by two processes at once', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-secrets-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('keeps every secret either wrote', async () => {
    const file = join(dir, 'mfa-secrets.json');
    const a = fileSecretStore(file);
    const b = fileSecretStore(file);
    const owners = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    await Promise.all(owners.map((owner, i) => (i % 2 === 0 ? a : b).create(owner, `sealed-${owner}`)));
    const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
    expect(Object.keys(stored).sort()).toEqual([...owners].sort());
    for (const owner of owners) expect(await b.get(owner)).toBe(`sealed-${owner}`);
  });

  it('takes over a lock its holder left when killed, without two processes taking it over at once', async () => {
    // Many writers find the stale lock at once, round after round: were two of them to take it
    // over together, the second would remove the lock the first had just taken, and both write.
    const lost: string[] = [];
    for (let round = 0; round < 40; round++) {
      const file = join(dir, `stale-lock-${round}.json`);
      await writeFile(`${file}.lock`, '');
      const minuteAgo = new Date(Date.now() - 60_000);
      await utimes(`${file}.lock`, minuteAgo, minuteAgo);
      // Thirty writers queue for one lock: on a loaded machine the last waits longer than the default
      // 2 s, which is not what this test is about, so it may wait as long as the test runs.
      const stores = Array.from({ length: 30 }, () => fileSecretStore(file, { waitMs: 60_000 }));
      const owners = stores.map((_, i) => `user-${i}`);
      await Promise.all(stores.map((store, i) => store.create(owners[i]!, `sealed-${owners[i]!}`)));
      const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
      for (const owner of owners) if (stored[owner] !== `sealed-${owner}`) lost.push(`round ${round}: ${owner}`);
      await expect(access(`${file}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(access(`${file}.lock.break`)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(lost).toEqual([]);
  });

  it('never lets a holder whose change outlasted the stale threshold remove, or write under, the lock another process has taken over since', async () => {
    const file = join(dir, 'slow-holder.json');
    const lock = `${file}.lock`;
    const slow = spawn(process.execPath, ['--import', 'tsx', LOCK_HOLDER, file], { stdio: ['pipe', 'pipe', 'inherit'] });
    const said = createInterface({ input: slow.stdout })[Symbol.asyncIterator]();
    const next = async (): Promise<unknown> => (await said.next()).value;
    try {
      expect(await next()).toBe('held');
      // The holder's change has taken longer than the stale threshold: its lock looks abandoned.
      const minuteAgo = new Date(Date.now() - 60_000);
      await utimes(lock, minuteAgo, minuteAgo);
      let finish: () => void = () => undefined;
      const mayFinish = new Promise<void>((resolve) => (finish = resolve));
      let taken: (owner: string) => void = () => undefined;
      const takenOver = new Promise<string>((resolve) => (taken = resolve));
      const waiter = underFileLock(file, async (held) => {
        taken(await readFile(lock, 'utf8'));
        await mayFinish;
        await held.confirm();
        return 'kept';
      });
      const owner = await takenOver;
      expect(owner).toMatch(new RegExp(`^${process.pid}:[0-9a-f]{24}$`));
      // The slow holder finishes: it is told its lock is gone, and leaves the new holder's in place.
      slow.stdin.write('done\n');
      expect(await next()).toBe('lost');
      const [code] = (await once(slow, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(await readFile(lock, 'utf8')).toBe(owner);
      finish();
      expect(await waiter).toBe('kept');
      await expect(access(lock)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      slow.kill();
    }
  });
});
