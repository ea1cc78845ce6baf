// The state folder's lock judged by its holder: a live process holds it; a pid that no longer runs,
// or that runs a later process than the one the lock names, or a lock that cannot be read, does not.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { holdStateFolder, INSTANCE_LOCK } from '../../src/auth/index.js';

let dir: string;
let other: ChildProcess;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-folder-hold-'));
  other = spawn('sleep', ['600'], { stdio: 'ignore' });
});
afterAll(async () => {
  other.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await rm(join(dir, INSTANCE_LOCK), { force: true });
});

const lockFile = (): string => join(dir, INSTANCE_LOCK);
/** Field 22 of /proc/PID/stat: the process's start time. */
const startOf = (pid: number): string => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
};

describe('holdStateFolder', () => {
  it('refuses a folder whose lock names a process that runs, naming its pid', async () => {
    const pid = other.pid!;
    await writeFile(lockFile(), JSON.stringify({ pid, start: startOf(pid) }));
    expect(await holdStateFolder(dir)).toEqual({ ok: false, file: lockFile(), heldBy: pid });
  });

  it('takes a folder whose lock names a pid now running another, later process', async () => {
    const pid = other.pid!;
    await writeFile(lockFile(), JSON.stringify({ pid, start: String(Number(startOf(pid)) - 1) }));
    const hold = await holdStateFolder(dir);
    expect(hold.ok).toBe(true);
    expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toEqual({ pid: process.pid, start: startOf(process.pid) });
  });

  it('takes a folder whose holder has exited, and one whose lock cannot be read', async () => {
    const gone = spawn('true');
    await new Promise((resolve) => gone.once('exit', resolve));
    for (const text of [JSON.stringify({ pid: gone.pid }), '{"pid": "1"', '']) {
      await writeFile(lockFile(), text);
      expect((await holdStateFolder(dir)).ok).toBe(true);
    }
  });

  // A container restarted on the same volume runs its new process under the old one's pid (1, or
  // the pid after an init): its lock names this very pid, and where the system tells no start time
  // (off Linux) nothing else tells the two apart. This process never holds a lock it has not taken.
  it('takes a folder whose lock names this process’s own pid, left by a process before it, with or without a start time', async () => {
    for (const lock of [{ pid: process.pid }, { pid: process.pid, start: String(Number(startOf(process.pid)) - 1) }]) {
      await writeFile(lockFile(), JSON.stringify(lock));
      const hold = await holdStateFolder(dir);
      expect(hold.ok).toBe(true);
      expect(JSON.parse(await readFile(lockFile(), 'utf8'))).toEqual({ pid: process.pid, start: startOf(process.pid) });
    }
  });

  it('removes on release only a lock that still names this process', async () => {
    const hold = await holdStateFolder(dir);
    if (!hold.ok) throw new Error('not taken');
    const pid = other.pid!;
    const theirs = JSON.stringify({ pid, start: startOf(pid) });
    await writeFile(lockFile(), theirs);
    await hold.release();
    expect(await readFile(lockFile(), 'utf8')).toBe(theirs);
    await rm(lockFile());
    const again = await holdStateFolder(dir);
    if (!again.ok) throw new Error('not taken');
    await again.release();
    await expect(readFile(lockFile(), 'utf8')).rejects.toThrow(/ENOENT/);
  });
});
