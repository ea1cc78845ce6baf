// One JSON file that a store keeps its state in, for an instance without Redis. Each write puts a
// new file in place by rename, so a crash leaves the old or the new one whole, and resolves only
// once the bytes and the rename are on disk (the folder is flushed after the rename: without it a
// power loss could bring back the old file after the new one was acknowledged): a write that fails rejects with StateUnavailableError, so the caller
// acknowledges nothing a restart would lose. Writes run one at a time in the order asked; a write
// asked while another waits to start joins it, since each writes the state as it is when it runs.
import { randomUUID } from 'node:crypto';
import { open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolder } from '../../config/index.js';
import { StateUnavailableError } from './store.js';

export interface DurableFile {
  /** Writes what `content` returns when the write starts; resolves once it is on disk. */
  write(content: () => unknown): Promise<void>;
}

/** Reads the JSON `file` holds, or undefined when it does not exist; throws, naming it, when it cannot be read or parsed. */
export async function readDurableFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TypeError(`${file}: not JSON (${(err as Error).message})`);
  }
}

/** Flushes a folder's entries to disk (a rename in it is durable once this returns). */
async function flushFolder(folder: string): Promise<void> {
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Creates the writer of `file` (its folder is created on the first write, readable by this user alone). */
export function createDurableFile(file: string): DurableFile {
  let queue: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  return {
    write(content) {
      if (waiting) return waiting;
      const next = queue.then(async () => {
        waiting = undefined;
        const text = JSON.stringify(content()) + '\n';
        const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
        try {
          await makeFolder(dirname(file), 0o700);
          await writeFile(tmp, text, { mode: 0o600, flush: true });
          await rename(tmp, file);
          await flushFolder(dirname(file));
        } catch (err) {
          await unlink(tmp).catch(() => undefined);
          throw new StateUnavailableError(`could not write ${file}`, { cause: err });
        }
      });
      waiting = next;
      queue = next.catch(() => undefined);
      return next;
    },
  };
}
