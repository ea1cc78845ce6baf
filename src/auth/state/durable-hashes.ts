// The in-process state store with its hashes kept in a file, for an instance without Redis. The
// hashes hold the session revocations: held in memory alone, they were forgotten when iamgate
// restarted, and a session revoked with RevokeSessions was honoured again until its exp. Each
// change to a hash is written to the file (a new file renamed over the old, so a crash leaves the
// old or the new one whole) before the call resolves: a write that fails fails the call, so no
// revocation is acknowledged that a restart would lose. A file that cannot be read refuses the
// start rather than starting with no revocations. The other values (TOTP replay marks, attempt
// counters) live at most minutes and stay in memory.
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createMemoryStateStore } from './memory.js';
import { StateUnavailableError, type StateStore } from './store.js';

/** The file's content: each hash by its key, each a map of fields to values. */
type HashesFile = Record<string, Record<string, string>>;

async function readHashes(file: string): Promise<HashesFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TypeError(`${file}: not JSON (${(err as Error).message})`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(parsed) || !Object.values(parsed).every((h) => isObject(h) && Object.values(h).every((v) => typeof v === 'string'))) {
    throw new TypeError(`${file}: not the state iamgate writes (an object of hashes of strings)`);
  }
  return parsed as HashesFile;
}

/**
 * Opens the in-process store with the hashes `file` holds (none when it does not exist yet), and
 * writes every hash back to it after each change. Throws when the file cannot be read or parsed.
 */
export async function openDurableHashStore(file: string, options: { now?: () => number } = {}): Promise<StateStore> {
  const memory = createMemoryStateStore(options);
  const loaded = await readHashes(file);
  const keys = new Set<string>();
  for (const [key, fields] of Object.entries(loaded)) {
    keys.add(key);
    for (const [field, value] of Object.entries(fields)) await memory.hashSet(key, field, value);
  }

  // One write at a time, in the order of the changes; each writes the hashes as they are when it runs.
  let queue: Promise<void> = Promise.resolve();
  const save = (): Promise<void> => {
    const next = queue.then(async () => {
      // Plain objects with null prototypes: a hash or field named __proto__ is kept as any other.
      const data: HashesFile = Object.create(null) as HashesFile;
      for (const key of keys) {
        const fields: Record<string, string> = Object.create(null) as Record<string, string>;
        for (const [field, value] of await memory.hashGetAll(key)) fields[field] = value;
        data[key] = fields;
      }
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.${process.pid}.${randomUUID()}.tmp`;
      try {
        await writeFile(tmp, JSON.stringify(data) + '\n', { mode: 0o600, flush: true });
        await rename(tmp, file);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw new StateUnavailableError(`could not write ${file}`, { cause: err });
      }
    });
    queue = next.catch(() => undefined);
    return next;
  };
  const changed = async <T>(key: string, result: T): Promise<T> => {
    keys.add(key);
    await save();
    return result;
  };

  return {
    ...memory,
    del: async (key) => {
      await memory.del(key);
      if (keys.delete(key)) await save();
    },
    hashSet: async (key, field, value) => changed(key, await memory.hashSet(key, field, value)),
    hashRaise: async (key, field, value) => changed(key, await memory.hashRaise(key, field, value)),
    hashPrune: async (key, before) => {
      const removed = await memory.hashPrune(key, before);
      return removed > 0 ? changed(key, removed) : removed;
    },
  };
}
