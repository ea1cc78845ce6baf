// The lock beside the MFA secrets file when a breaker of a stale lock dies or stalls mid-takeover:
// real processes killed at a step of the takeover, and waiters held at a step (LockStep hooks), so
// each race happens the same way every run. Whatever the interleaving, no two waiters hold the lock
// at once, and no lock or marker is left that no one can take.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { access, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { underFileLock, type LockStep } from '../../src/auth/index.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const BREAKER = new URL('./fixtures/lock-breaker.ts', import.meta.url).pathname;
/** Long enough never to be reached: a waiter here waits on events, never on time. */
const WAIT_MS = 120_000;

/**
 * The stale threshold of the waiters here: a file written during a test is never this old, however
 * slowly a loaded machine runs the test (the default, 10 s, can pass between two of its steps).
 */
const STALE_MS = 30 * 60_000;

/** Sets a file's times an hour back: older than the stale threshold (STALE_MS, and the breaker fixture's 10 s). */
const age = async (path: string): Promise<void> => {
  const hourAgo = new Date(Date.now() - 3_600_000);
  await utimes(path, hourAgo, hourAgo);
};

/** Runs the lock-breaker fixture on `file` and kills it (SIGKILL) once it says it reached `step`. */
async function killedAt(file: string, step: LockStep | 'held'): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', BREAKER, file, step], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const said = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    expect((await said.next()).value).toBe(step);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  } finally {
    child.kill('SIGKILL');
  }
}

/** A waiter's steps, each awaited: a test holds one step with `hold` and watches for the others. */
function steps(): { onStep(step: LockStep): Promise<void>; hold(step: LockStep): Promise<() => void>; reached(step: LockStep): Promise<void> } {
  const holds = new Map<LockStep, Promise<void>>();
  const watchers: { step: LockStep; resolve(): void }[] = [];
  return {
    async onStep(step) {
      for (const w of watchers.splice(0)) if (w.step === step) w.resolve();
      else watchers.push(w);
      const held = holds.get(step);
      if (held) {
        holds.delete(step);
        await held;
      }
    },
    async hold(step) {
      let release: () => void = () => undefined;
      holds.set(step, new Promise<void>((resolve) => (release = resolve)));
      return release;
    },
    reached: (step) => new Promise<void>((resolve) => watchers.push({ step, resolve })),
  };
}

/** A change that holds the lock until `finish` is called; `entered` resolves once it holds it. */
function heldChange(name: string, log: string[]): { change: () => Promise<string>; entered: Promise<void>; finish(): void } {
  let entered: () => void = () => undefined;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    entered: new Promise<void>((resolve) => (entered = resolve)),
    finish: () => finish(),
    change: async () => {
      log.push(`${name} in`);
      entered();
      await done;
      log.push(`${name} out`);
      return name;
    },
  };
}

/** A waiter on `file` started now and held at the first `step` it reaches; resolves once it is there. */
async function waiterHeldAt(file: string, step: LockStep, name: string, log: string[]) {
  const waiter = steps();
  const release = await waiter.hold(step);
  const there = waiter.reached(step);
  const held = heldChange(name, log);
  const done = underFileLock(file, held.change, { waitMs: WAIT_MS, staleMs: STALE_MS, onStep: (s) => waiter.onStep(s) });
  await there;
  return { ...waiter, release, held, done };
}

describe('the file lock when a breaker dies or stalls mid-takeover', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-lock-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** What is left beside `file`: the lock, the marker, files moved aside. */
  const leftBeside = async (file: string): Promise<string[]> => (await readdir(dir)).filter((f) => f.startsWith(`${basename(file)}.`));

  it('lets one waiter at a time take the lock when two find the marker of a killed breaker stale at once', async () => {
    const file = join(dir, 'killed-breaker.json');
    const lock = `${file}.lock`;
    await killedAt(file, 'held');
    await age(lock);
    await killedAt(file, 'marker-created');
    await age(`${lock}.break`);
    const log: string[] = [];
    // The second waiter judges the dead breaker's marker stale and is held before removing it.
    const second = await waiterHeldAt(file, 'marker-stale', 'second', log);
    // The first removes that marker, puts its own, and is held before removing the stale lock.
    const first = await waiterHeldAt(file, 'lock-stale', 'first', log);
    const [a, b] = [first.held, second.held];
    // The second resumes: the marker it judged stale is gone; the one there now is the first's, and stays.
    const releaseSecondWaiting = await second.hold('waiting');
    const secondWaiting = second.reached('waiting');
    second.release();
    await secondWaiting;
    await expect(access(`${lock}.break`)).resolves.toBeUndefined();
    // Next it finds the stale lock under the first's marker: it can only wait, never break it too.
    const releaseSecondAtLock = await second.hold('lock-stale');
    // Held again at its next wait: between the first's removal of the stale lock and its taking of
    // the lock, the lock is free, and a second polling then would take it (which the lock allows).
    const releaseSecondWaitingAgain = await second.hold('waiting');
    const secondNext = Promise.race([second.reached('waiting').then(() => 'waiting'), second.reached('lock-stale').then(() => 'lock-stale')]);
    releaseSecondWaiting();
    const next = await secondNext;
    first.release();
    await a.entered;
    const afterFirstTook = Promise.race([second.reached('waiting').then(() => 'waiting'), b.entered.then(() => 'entered')]);
    releaseSecondAtLock();
    releaseSecondWaitingAgain();
    expect([next, await afterFirstTook, [...log]]).toEqual(['waiting', 'waiting', ['first in']]);
    a.finish();
    await b.entered;
    b.finish();
    expect(await Promise.all([first.done, second.done])).toEqual(['first', 'second']);
    expect(log).toEqual(['first in', 'first out', 'second in', 'second out']);
    expect(await leftBeside(file)).toEqual([]);
  }, CHILD_PROCESS_TEST_MS);

  it('never removes a lock taken since it judged the lock stale, when the stale lock’s holder let it go meanwhile', async () => {
    const file = join(dir, 'released-meanwhile.json');
    const lock = `${file}.lock`;
    const log: string[] = [];
    // A holder whose change outlasted the stale threshold, still alive.
    const slow = heldChange('slow', log);
    const slowDone = underFileLock(file, slow.change, { staleMs: STALE_MS });
    await slow.entered;
    await age(lock);
    // A waiter judges the lock stale and is held before removing it.
    const breaker = await waiterHeldAt(file, 'lock-stale', 'breaker', log);
    const late = breaker.held;
    // The slow holder finishes and lets its lock go; a third waiter takes the lock at once.
    slow.finish();
    await slowDone;
    const third = heldChange('third', log);
    const thirdDone = underFileLock(file, third.change, { staleMs: STALE_MS });
    await third.entered;
    // The breaker resumes: the lock there now is not the one it judged stale, and stays.
    const next = Promise.race([breaker.reached('waiting').then(() => 'waiting'), late.entered.then(() => 'entered')]);
    breaker.release();
    expect([await next, [...log]]).toEqual(['waiting', ['slow in', 'slow out', 'third in']]);
    third.finish();
    await late.entered;
    late.finish();
    expect(await Promise.all([thirdDone, breaker.done])).toEqual(['third', 'breaker']);
    expect(log).toEqual(['slow in', 'slow out', 'third in', 'third out', 'breaker in', 'breaker out']);
    expect(await leftBeside(file)).toEqual([]);
  }, 30_000);

  it.each(['marker-created', 'lock-stale', 'lock-removed'] as const)('is taken by the next waiters after a breaker killed at %s, once what it left is stale', async (step) => {
    const file = join(dir, `killed-at-${step}.json`);
    const lock = `${file}.lock`;
    const ageLeftovers = async (): Promise<void> => {
      for (const left of await leftBeside(file)) await age(join(dir, left));
    };
    await writeFile(lock, '');
    await age(lock);
    await killedAt(file, step);
    await ageLeftovers();
    expect(await underFileLock(file, async () => 'taken', { waitMs: WAIT_MS, staleMs: STALE_MS })).toBe('taken');
    // And again after a holder killed holding it: whatever the breaker left never blocks a takeover.
    await killedAt(file, 'held');
    await ageLeftovers();
    expect(await underFileLock(file, async () => 'taken again', { waitMs: WAIT_MS, staleMs: STALE_MS })).toBe('taken again');
    expect(await leftBeside(file)).toEqual([]);
  }, CHILD_PROCESS_TEST_MS);
});
