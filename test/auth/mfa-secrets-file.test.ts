// The MFA secrets file is shared by every process of one instance (the workers of `serve
// --workers N`): writes from two processes at once must not lose each other's secrets. Two stores
// on one file stand for two processes (each serialises only its own writes).
import { access, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileSecretStore } from '../../src/auth/index.js';

describe('the MFA secrets file written by two processes at once', () => {
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
      const stores = Array.from({ length: 30 }, () => fileSecretStore(file));
      const owners = stores.map((_, i) => `user-${i}`);
      await Promise.all(stores.map((store, i) => store.create(owners[i]!, `sealed-${owners[i]!}`)));
      const stored = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
      for (const owner of owners) if (stored[owner] !== `sealed-${owner}`) lost.push(`round ${round}: ${owner}`);
      await expect(access(`${file}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(access(`${file}.lock.break`)).rejects.toMatchObject({ code: 'ENOENT' });
    }
    expect(lost).toEqual([]);
  }, 60_000);
});
