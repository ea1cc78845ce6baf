// A file several processes may each generate at once (a key of `serve --workers`): exactly one
// creates it, and whoever finds it there reads it whole, never half written.
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeNewFile } from '../../src/config/index.js';

describe('writeNewFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-new-file-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lets exactly one of many racing writers create the file, and every other finds it whole', async () => {
    const path = join(dir, 'key.pem');
    // Large enough that a write could be seen part-way by a reader of the path.
    const contents = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}:${'k'.repeat(2 * 1024 * 1024)}\n`);
    const results = await Promise.all(
      contents.map(async (content) => {
        const created = await writeNewFile(path, content, 0o600);
        return { created, seen: await readFile(path, 'utf8') };
      }),
    );
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    const whole = winners[0]!.seen;
    expect(contents).toContain(whole);
    expect(results.every((r) => r.seen === whole)).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    // Nothing of the losers' own files is left beside it.
    expect(await readdir(dir)).toEqual(['key.pem']);
  });
});
