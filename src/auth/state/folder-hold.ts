// One process at a time keeps its security state in a state folder. Without Redis, revocations and
// TOTP marks live in files of `auth.stateDir` that each process rewrites whole from its own memory:
// two processes on one folder would each overwrite what the other wrote (a revocation forgotten, a
// lockout lifted). So a process that keeps its state there holds `<stateDir>/instance.lock` for its
// whole life: a file naming its pid and start time. The OS ends the hold with the process: a lock
// whose pid no longer runs (or runs a later process: its start time differs) is taken over. Reading
// the lock and writing it are done under the short file lock of file-lock.ts, so of two processes
// starting together on a folder left by a dead one, exactly one takes it.
//
// Limits: pids are read in this process's pid namespace. Two containers sharing one volume cannot
// see each other's processes; they must share their state through Redis instead (docs/security.md).
import { readFileSync } from 'node:fs';
import { readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeFolder } from '../../config/index.js';
import { underFileLock } from '../file-lock.js';

/** The lock file's name inside the state folder. */
export const INSTANCE_LOCK = 'instance.lock';

/** A process as its lock names it: its pid, and its start time when the system tells it (Linux). */
interface Holder {
  readonly pid: number;
  readonly start?: string;
}

export type FolderHold =
  | { readonly ok: true; readonly file: string; release(): Promise<void> }
  | { readonly ok: false; readonly file: string; readonly heldBy: number };

/** The start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or undefined off Linux. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(text: string): Holder | undefined {
  try {
    const parsed = JSON.parse(text) as { pid?: unknown; start?: unknown };
    if (typeof parsed.pid !== 'number' || !Number.isSafeInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return typeof parsed.start === 'string' ? { pid: parsed.pid, start: parsed.start } : { pid: parsed.pid };
  } catch {
    return undefined;
  }
}

/**
 * Whether the process a lock names still runs. This process never holds a lock it has not taken
 * (serve takes it once), so its own pid in a lock is a process before it (a container restarted
 * with the same pid). A lock that cannot be read is left by a holder killed while writing it.
 */
function holderLives(holder: Holder | undefined): holder is Holder {
  if (holder === undefined || holder.pid === process.pid || !running(holder.pid)) return false;
  const now = startTime(holder.pid);
  return holder.start === undefined || now === undefined || now === holder.start;
}

/** Reads the lock, or undefined when there is none. */
async function readLock(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Takes the state folder `dir` for this process (made if missing), or answers which live process
 * holds it. The hold lasts until `release` or the end of the process.
 */
export async function holdStateFolder(dir: string): Promise<FolderHold> {
  await makeFolder(dir, 0o700);
  const file = join(dir, INSTANCE_LOCK);
  const start = startTime(process.pid);
  const mine = JSON.stringify(start === undefined ? { pid: process.pid } : { pid: process.pid, start }) + '\n';
  return underFileLock(file, async (lock) => {
    const text = await readLock(file);
    const holder = text === undefined ? undefined : readHolder(text);
    if (holderLives(holder)) return { ok: false, file, heldBy: holder.pid };
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, mine, { mode: 0o600 });
    await lock.confirm();
    await rename(tmp, file);
    return {
      ok: true,
      file,
      release: async () => {
        // Removed only while it still names this process: never a lock another has taken since.
        if ((await readLock(file).catch(() => undefined)) === mine) await unlink(file).catch(() => undefined);
      },
    };
  });
}
