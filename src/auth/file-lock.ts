// A lock file beside a file that several processes of one instance change (the workers of `serve
// --workers N` writing the MFA secrets file): `<path>.lock`, created exclusively, holding its
// owner's name (pid and a random token). A lock whose holder died is taken over once older than
// the stale threshold; a holder only ever removes a lock that still names it, and checks it still
// holds the lock before it writes.
//
// Nothing is removed by its name after being looked at: between the look and the removal, another
// process may have put another file there (a stale lock taken over and a fresh one taken, a marker
// left by a breaker that died replaced by a live one). A file is first moved aside (rename, atomic),
// looked at there, and removed only if it is the one judged (the same file, still as old; or still
// naming its owner); anything else is put back (link, which never replaces a file). So a breaker
// killed at any step leaves at worst its marker, taken over once stale, or a `.gone-*` file of no
// use to anyone; never two holders, and never a lock no one can take.
//
// Limits that remain (a lock file on a local filesystem, not a lease):
// - A live holder that takes longer than the stale threshold (a process stopped, an event loop
//   blocked for 10 s) loses its lock to a waiter. It then neither writes (its `confirm` fails) nor
//   removes the waiter's lock; its change is refused, not lost silently.
// - `confirm` and the write are two steps: a holder that stalls past the threshold between them can
//   still write once after its lock was taken over.
// - A live file moved aside by mistake is put back unless a new one took its place meanwhile; its
//   holder then finds its lock gone at `confirm` and its change is refused.
// - A lock is stale by its modification time: clocks of processes on one host agree, but a lock on
//   a network filesystem shared by hosts relies on their clocks too.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';

/** The steps of a takeover where a test may hold a waiter (`FileLockOptions.onStep`). */
export type LockStep =
  /** This waiter created the breaker's marker `<lock>.break`: it alone may take a stale lock over. */
  | 'marker-created'
  /** A marker another breaker left is stale (its breaker died): about to remove it. */
  | 'marker-stale'
  /** Under the marker, the lock is stale: about to remove it. */
  | 'lock-stale'
  /** The stale lock is removed: the marker is still held. */
  | 'lock-removed'
  /** The lock is held by another: about to wait and try again. */
  | 'waiting';

export interface FileLockOptions {
  /** How long to wait for another holder before giving up, ms (default 2000). */
  readonly waitMs?: number;
  /** Age after which a lock (or a breaker's marker) is taken to be left by a dead holder, ms (default 10 000). */
  readonly staleMs?: number;
  /** Awaited at each step of a takeover: lets tests hold a waiter there, or kill its process. */
  readonly onStep?: (step: LockStep) => void | Promise<void>;
}

/** What a holder can ask of its lock while changing the file. */
export interface HeldLock {
  /** Resolves while the lock still names this holder; rejects once another process has taken it over. */
  confirm(): Promise<void>;
}

const DEFAULTS = { waitMs: 2000, staleMs: 10_000, onStep: () => undefined } as const;

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

/**
 * Removes `path` if `isIt` says the file there is the one meant: moved aside first, so that what is
 * looked at is what is removed. A file that is not is put back, unless another took its place
 * meanwhile. True when it removed the file.
 */
async function removeIf(path: string, owner: string, isIt: (aside: string, moved: Stats) => Promise<boolean>): Promise<boolean> {
  const aside = `${path}.gone-${owner.replace(':', '-')}`;
  try {
    await rename(path, aside);
  } catch {
    return false; // gone already
  }
  const moved = await stat(aside).catch(() => undefined);
  const meant = moved !== undefined && (await isIt(aside, moved));
  if (!meant) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
  return meant;
}

/** Removes `path` if it still names `owner`; another's lock is left alone, not even moved. */
async function removeOwn(path: string, owner: string): Promise<void> {
  if (await names(path, owner)) await removeIf(path, owner, (aside) => names(aside, owner));
}

/** The file at `path` if it was last written longer than `staleMs` ago (its writer died holding it). */
async function staleFile(path: string, staleMs: number): Promise<Stats | undefined> {
  const held = await stat(path).catch(() => undefined);
  return held !== undefined && Date.now() - held.mtimeMs > staleMs ? held : undefined;
}

/** Removes `path` if it is still the file `judged` (same file, same age): a stale file, never one made since. */
async function removeJudged(path: string, judged: Stats, owner: string): Promise<boolean> {
  return removeIf(path, owner, async (_, moved) => moved.dev === judged.dev && moved.ino === judged.ino && moved.mtimeMs === judged.mtimeMs);
}

/**
 * Removes `lock` if it is still stale, holding the marker `<lock>.break`: two waiters that both saw
 * the stale lock would otherwise both remove "it", the second removing the lock the first had just
 * taken. The marker names its breaker, as a lock does, and is stale after as long: one left by a
 * breaker killed while breaking is removed then, as the one judged stale and no other. True when
 * this call removed the lock.
 */
async function breakStale(lock: string, owner: string, staleMs: number, step: (s: LockStep) => void | Promise<void>): Promise<boolean> {
  const marker = `${lock}.break`;
  if (!(await create(marker, owner))) {
    const left = await staleFile(marker, staleMs);
    if (left) {
      await step('marker-stale');
      await removeJudged(marker, left, owner);
    }
    return false;
  }
  try {
    await step('marker-created');
    const judged = await staleFile(lock, staleMs);
    if (!judged) return false;
    await step('lock-stale');
    if (!(await removeJudged(lock, judged, owner))) return false;
    await step('lock-removed');
    return true;
  } finally {
    await removeOwn(marker, owner);
  }
}

/**
 * Runs `change` holding `<path>.lock`: waits for another holder up to `waitMs`, takes over a lock
 * older than `staleMs` (breakStale), and at the end removes the lock only if it is still this
 * holder's. `change` calls `confirm` on the lock right before it writes.
 */
export async function underFileLock<T>(path: string, change: (lock: HeldLock) => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const { waitMs, staleMs, onStep } = { ...DEFAULTS, ...options };
  const lock = `${path}.lock`;
  const owner = ownerName();
  const deadline = Date.now() + waitMs;
  while (!(await create(lock, owner))) {
    if ((await staleFile(lock, staleMs)) && (await breakStale(lock, owner, staleMs, onStep))) continue;
    if (Date.now() > deadline) throw new Error(`${lock} is held by another process`);
    await onStep('waiting');
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
