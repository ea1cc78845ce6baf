// Folders made for state, keys and the audit trail: missing parents are made, and a path whose
// parent refuses new entries (as /proc does, where Node's recursive mkdir retries for ever) fails.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FolderError, makeFolder, makeFolderSync } from '../../src/config/index.js';

const made: string[] = [];
afterAll(async () => {
  for (const dir of made) await rm(dir, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-new-folder-'));
  made.push(dir);
  return dir;
}

const variants = [
  ['makeFolder', (path: string, mode?: number) => makeFolder(path, mode)],
  ['makeFolderSync', async (path: string, mode?: number) => makeFolderSync(path, mode)],
] as const;

describe.each(variants)('%s', (_name, make) => {
  it('makes every missing parent, with the mode asked for', async () => {
    const dir = await tempDir();
    const path = join(dir, 'a', 'b', 'c');
    await make(path, 0o700);
    for (const folder of [join(dir, 'a'), join(dir, 'a', 'b'), path]) {
      const found = await stat(folder);
      expect(found.isDirectory()).toBe(true);
      expect(found.mode & 0o777).toBe(0o700);
    }
  });

  it('accepts a folder that is already there', async () => {
    const dir = await tempDir();
    await make(dir);
    expect((await stat(dir)).isDirectory()).toBe(true);
  });

  it('fails, naming the path, where a file stands in the way', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'file'), '');
    await expect(make(join(dir, 'file'))).rejects.toThrow(new FolderError(join(dir, 'file'), 'ENOTDIR', 'a file of that name is there'));
    await expect(make(join(dir, 'file', 'below'))).rejects.toThrow(/ENOTDIR/);
  });

  it('fails under /proc, whose folders refuse new entries, instead of retrying for ever', async () => {
    const path = `/proc/iamgate-no-such-${process.pid}/a/b`;
    const error = await make(path).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(FolderError);
    expect((error as FolderError).folder).toBe(`/proc/iamgate-no-such-${process.pid}`);
    expect((error as FolderError).code).toBe('ENOENT');
  });
});
