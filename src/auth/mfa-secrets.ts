// Where encrypted TOTP secrets live: in the shared StateStore (Redis) when one is configured, or in
// a local JSON file for one instance (its workers included). Either way only sealed blobs are stored.
import { randomUUID } from 'node:crypto';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeFolder } from '../config/index.js';
import { underFileLock, type FileLockOptions, type HeldLock } from './file-lock.js';
import type { StateStore } from './state/store.js';

export interface MfaSecretStore {
  get(owner: string): Promise<string | undefined>;
  /**
   * Stores the owner's secret unless one is stored already; true when this call stored it. One
   * step, so of two confirmations racing (two replicas, two workers) one enrols and the other is
   * told the owner is enrolled: an enrolled secret is never replaced, only removed (`delete`).
   */
  create(owner: string, blob: string): Promise<boolean>;
  delete(owner: string): Promise<void>;
}

/** Secrets kept in a StateStore under `mfa:secret:<owner>`, without expiry. */
export function stateSecretStore(state: StateStore): MfaSecretStore {
  const key = (owner: string): string => `mfa:secret:${owner}`;
  return {
    get: (owner) => state.get(key(owner)),
    create: (owner, blob) => state.setIfAbsent(key(owner), blob),
    delete: (owner) => state.del(key(owner)),
  };
}

/**
 * Secrets kept in a JSON file (owner → sealed blob), written atomically with mode 0600. Writes from
 * this process are serialised, and writes from other processes on the same file (the workers of
 * `serve --workers N`) wait for each other through a lock file (file-lock.ts), with `lock`'s wait
 * and stale threshold (its defaults unless given).
 */
export function fileSecretStore(path: string, lock: FileLockOptions = {}): MfaSecretStore {
  let queue: Promise<unknown> = Promise.resolve();

  const read = async (): Promise<Record<string, string>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError(`${path}: not a JSON object`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  };
  /** Replaces the file with `data`, unless the lock was taken over meanwhile (then nothing is written). */
  const write = async (data: Record<string, string>, lock: HeldLock): Promise<void> => {
    await makeFolder(dirname(path), 0o700);
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    try {
      await lock.confirm();
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
  };
  /** Reads, changes and writes the file holding its lock; `change` answers whether to write. */
  const update = <T>(change: (data: Record<string, string>) => { write: boolean; result: T }): Promise<T> => {
    const next = queue.then(async () => {
      await makeFolder(dirname(path), 0o700);
      return underFileLock(
        path,
        async (held) => {
          const data = await read();
          const { write: changed, result } = change(data);
          if (changed) await write(data, held);
          return result;
        },
        lock,
      );
    });
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    get: async (owner) => (await read())[owner],
    create: (owner, blob) =>
      update((data) => {
        if (Object.hasOwn(data, owner)) return { write: false, result: false };
        data[owner] = blob;
        return { write: true, result: true };
      }),
    delete: (owner) =>
      update((data) => {
        const had = Object.hasOwn(data, owner);
        delete data[owner];
        return { write: had, result: undefined };
      }),
  };
}
