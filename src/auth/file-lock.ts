// A lock file beside a file that several processes of one instance change (the workers of `serve
// --workers N` writing the MFA secrets file): `<path>.lock`, created exclusively, holding its
// owner's name (pid and a random token). A lock whose holder died is taken over once older than
// the stale threshold; a holder only ever removes a lock that still names it, and checks it still
// holds the lock before it writes.
//
// Limits that remain (a lock file on a local filesystem, not a lease):
// - A live holder that takes longer than the stale threshold (a process stopped, an event loop
//   blocked for 10 s) loses its lock to a waiter. It then neither writes (its `confirm` fails) nor
//   removes the waiter's lock; its change is refused, not lost silently.
// - Reading the owner and acting on it are two steps: a holder that loses its lock between its last
//   `confirm` and its write, or between reading the lock and removing it at release, can still
//   write once or remove the new holder's lock. Both need the holder to stall past the threshold
//   inside that window of a few system calls.
// - A lock is stale by its modification time: clocks of processes on one host agree, but a lock on
//   a network filesystem shared by hosts relies on their clocks too.
import { randomBytes } from 'node:crypto';
import { open, readFile, stat, unlink } from 'node:fs/promises';

export interface FileLockOptions {
  /** How long to wait for another holder before giving up, ms (default 2000). */
  readonly waitMs?: number;
  /** Age after which a lock is taken to be left by a dead holder, ms (default 10 000). */
  readonly staleMs?: number;
}

/** What a holder can ask of its lock while changing the file. */
export interface HeldLock {
  /** Resolves while the lock still names this holder; rejects once another process has taken it over. */
  confirm(): Promise<void>;
}

const DEFAULTS = { waitMs: 2000, staleMs: 10_000 } as const;

/** This holder's name as written in its lock: its pid, and a random token telling apart holders of one process. */
function ownerName(): string {
  return `${process.pid}:${randomBytes(12).toString('hex')}`;
}

/** Creates `path` exclusively holding `owner`; false when it exists. */
async function create(path: string, owner: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await handle.writeFile(owner);
  } finally {
    await handle.close();
  }
  return true;
}

/** Whether the lock at `path` names `owner` (a lock being written names no one yet). */
async function names(path: string, owner: string): Promise<boolean> {
  return (await readFile(path, 'utf8').catch(() => undefined)) === owner;
}

/** Removes `path` if it still names `owner`. */
async function removeOwn(path: string, owner: string): Promise<void> {
  if (await names(path, owner)) await unlink(path).catch(() => undefined);
}

/** Whether the file at `path` was last written longer than `staleMs` ago (its writer died holding it). */
async function isStale(path: string, staleMs: number): Promise<boolean> {
  const held = await stat(path).catch(() => undefined);
  return held !== undefined && Date.now() - held.mtimeMs > staleMs;
}

/**
 * Removes `lock` if it is still stale, holding `<lock>.break`: two waiters that both saw the stale
 * lock would otherwise both remove "it", the second removing the lock the first had just taken,
 * and both would write. Under the breaker the lock is looked at again, so only a stale one goes.
 * True when this call removed it. A breaker left by a process killed while breaking is removed
 * once as old as a stale lock.
 */
async function breakStale(lock: string, staleMs: number): Promise<boolean> {
  const breaker = `${lock}.break`;
  const owner = ownerName();
  if (!(await create(breaker, owner))) {
    if (await isStale(breaker, staleMs)) await unlink(breaker).catch(() => undefined);
    return false;
  }
  try {
    if (!(await isStale(lock, staleMs))) return false;
    await unlink(lock);
    return true;
  } catch {
    return false; // gone already
  } finally {
    await removeOwn(breaker, owner);
  }
}

/**
 * Runs `change` holding `<path>.lock`: waits for another holder up to `waitMs`, takes over a lock
 * older than `staleMs` (breakStale), and at the end removes the lock only if it is still this
 * holder's. `change` calls `confirm` on the lock right before it writes.
 */
export async function underFileLock<T>(path: string, change: (lock: HeldLock) => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const { waitMs, staleMs } = { ...DEFAULTS, ...options };
  const lock = `${path}.lock`;
  const owner = ownerName();
  const deadline = Date.now() + waitMs;
  while (!(await create(lock, owner))) {
    if ((await isStale(lock, staleMs)) && (await breakStale(lock, staleMs))) continue;
    if (Date.now() > deadline) throw new Error(`${lock} is held by another process`);
    await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 10));
  }
  const held: HeldLock = {
    confirm: async () => {
      if (!(await names(lock, owner))) throw new Error(`${lock} was taken over by another process: this change is not written`);
    },
  };
  try {
    return await change(held);
  } finally {
    await removeOwn(lock, owner);
  }
}
