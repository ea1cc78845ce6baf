// Creates a file only if none is there, whole or not at all: several processes starting at once
// (the workers of `serve --workers`) may each generate a key for the same path, and one that finds
// the file must never read it half written. The content is written to a file of this process's own
// first, then linked into place, which fails when the path exists and otherwise shows the whole file.
import { randomBytes } from 'node:crypto';
import { link, unlink, writeFile } from 'node:fs/promises';

/** Writes `content` to `path` (mode `mode`) unless a file is there; true when this call created it. */
export async function writeNewFile(path: string, content: string, mode: number): Promise<boolean> {
  const own = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.new`;
  await writeFile(own, content, { mode, flag: 'wx' });
  try {
    await link(own, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await unlink(own).catch(() => undefined);
  }
}
