// Where encrypted TOTP secrets live: in the shared StateStore (Redis) when one is configured, or in
// a local JSON file for one instance (its workers included). Either way only sealed blobs are stored.
import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
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

/** How long a write waits for another process's, and when a lock its holder left behind is taken over, ms. */
const LOCK_WAIT_MS = 2000;
const LOCK_STALE_MS = 10_000;

/** Whether the file at `path` was last written longer than LOCK_STALE_MS ago (its writer died holding it). */
async function isStale(path: string): Promise<boolean> {
  const held = await stat(path).catch(() => undefined);
  return held !== undefined && Date.now() - held.mtimeMs > LOCK_STALE_MS;
}

/**
 * Removes `lock` if it is still stale, holding `<lock>.break`: two waiters that both saw the stale
 * lock would otherwise both remove "it", the second removing the lock the first had just taken,
 * and both would write. Under the breaker the lock is looked at again, so only a stale one goes.
 * True when this call removed it. A breaker left by a process killed while breaking is removed
 * once as old as a stale lock.
 */
async function breakStale(lock: string): Promise<boolean> {
  const breaker = `${lock}.break`;
  try {
    await (await open(breaker, 'wx', 0o600)).close();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (await isStale(breaker)) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    if (!(await isStale(lock))) return false;
    await unlink(lock);
    return true;
  } catch {
    return false; // gone already
  } finally {
    await unlink(breaker).catch(() => undefined);
  }
}

/**
 * Runs `change` holding `<path>.lock`, created exclusively: the workers of `serve --workers N` are
 * separate processes writing the one file, and a read-modify-write of each at once would lose the
 * other's secret. A lock older than LOCK_STALE_MS (its holder died) is taken over (breakStale).
 */
async function underFileLock<T>(path: string, change: () => Promise<T>): Promise<T> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(lock, 'wx', 0o600)).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if ((await isStale(lock)) && (await breakStale(lock))) continue;
      if (Date.now() > deadline) throw new Error(`${lock} is held by another process`);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
    }
  }
  try {
    return await change();
  } finally {
    await unlink(lock).catch(() => undefined);
  }
}

/**
 * Secrets kept in a JSON file (owner → sealed blob), written atomically with mode 0600. Writes from
 * this process are serialised, and writes from other processes on the same file (the workers of
 * `serve --workers N`) wait for each other through a lock file.
 */
export function fileSecretStore(path: string): MfaSecretStore {
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
  const write = async (data: Record<string, string>): Promise<void> => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, path);
  };
  /** Reads, changes and writes the file holding its lock; `change` answers whether to write. */
  const update = <T>(change: (data: Record<string, string>) => { write: boolean; result: T }): Promise<T> => {
    const next = queue.then(async () => {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      return underFileLock(path, async () => {
        const data = await read();
        const { write: changed, result } = change(data);
        if (changed) await write(data);
        return result;
      });
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
