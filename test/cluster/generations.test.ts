// The primary's view of which policy set each worker of `serve --workers N` serves: the latest set
// loaded anywhere is the one to serve; a worker away from it is asked to load again, ever less
// often; and every worker is told, each time it changes, how many sets are served and whether one
// failed to follow. The timers are the test's own: each runs when the test says.
import { describe, expect, it } from 'vitest';
import { createGenerationTracker, loadAgainOf, loadReportOf, UNREPORTED_WAIT_MS, type WorkerAgreement } from '../../src/cluster/index.js';

function tracker() {
  const timers: { run: () => void; ms: number; cancelled: boolean }[] = [];
  const asked: [number, string, number][] = [];
  const told: WorkerAgreement[] = [];
  const t = createGenerationTracker({
    loadAgain: (worker, digest, attempt) => void asked.push([worker, digest, attempt]),
    broadcast: (a) => void told.push(a),
    schedule: (run, ms) => {
      const timer = { run, ms, cancelled: false };
      timers.push(timer);
      return () => void (timer.cancelled = true);
    },
  });
  /** The delays of the timers still pending, without running them. */
  const pending = (): number[] => timers.filter((x) => !x.cancelled).map((x) => x.ms);
  /** Runs every timer still pending; the delays they were set for. */
  const elapse = (): number[] => {
    const due = timers.splice(0).filter((x) => !x.cancelled);
    for (const x of due) x.run();
    return due.map((x) => x.ms);
  };
  return { t, asked, told, elapse, pending };
}

/** Both workers serve A; worker 1 loads B, and worker 2's load of it fails. */
function workerTwoFailsToFollow(t: ReturnType<typeof tracker>['t']): void {
  t.report(1, { ok: true, digest: 'A' });
  t.report(2, { ok: true, digest: 'A' });
  t.report(1, { ok: true, digest: 'B' });
  t.report(2, { ok: false });
}

describe('the workers agreement the primary keeps', () => {
  it('tells the workers they agree once every one serves the same set, without asking any to load again', () => {
    const { t, asked, told, elapse } = tracker();
    t.report(1, { ok: true, digest: 'A' });
    t.report(2, { ok: true, digest: 'A' });
    t.report(1, { ok: true, digest: 'B' });
    t.report(2, { ok: true, digest: 'B' });
    expect(elapse()).toEqual([]);
    expect(asked).toEqual([]);
    expect(told).toEqual([{ generations: 1, diverged: false }, { generations: 2, diverged: false }, { generations: 1, diverged: false }]);
  });

  it('asks a worker whose load failed to load again at 1, 2, 4 ... 30 s, and says it is behind until it serves the set', () => {
    const { t, asked, told, elapse } = tracker();
    workerTwoFailsToFollow(t);
    expect(t.agreement()).toEqual({ generations: 2, diverged: true });
    const delays: number[] = [];
    for (let i = 0; i < 7; i++) {
      delays.push(...elapse());
      t.report(2, { ok: false });
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
    expect(asked.map(([worker, digest]) => [worker, digest])).toEqual(Array.from({ length: 7 }, () => [2, 'B']));
    expect(asked.map(([, , attempt]) => attempt)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    t.report(2, { ok: true, digest: 'B' });
    expect(elapse()).toEqual([]);
    expect(told.at(-1)).toEqual({ generations: 1, diverged: false });
    expect(told).toContainEqual({ generations: 2, diverged: true });
  });

  it('makes a set loaded again the one to serve, and asks the worker that was never told of it to load again once it has been silent for UNREPORTED_WAIT_MS', () => {
    const { t, asked, elapse } = tracker();
    workerTwoFailsToFollow(t);
    elapse();
    // Worker 2 asked again finds the files back at A: A is what the files hold now, for both.
    t.report(2, { ok: true, digest: 'A' });
    expect(t.agreement()).toEqual({ generations: 2, diverged: false });
    expect(elapse()).toEqual([UNREPORTED_WAIT_MS]);
    expect(asked.at(-1)).toEqual([1, 'A', 1]);
    t.report(1, { ok: true, digest: 'A' });
    expect(t.agreement()).toEqual({ generations: 1, diverged: false });
  });

  it('waits UNREPORTED_WAIT_MS for a worker loading the new set, and never asks one that reports it within that time', () => {
    const { t, asked, told, elapse, pending } = tracker();
    t.report(1, { ok: true, digest: 'A' });
    t.report(2, { ok: true, digest: 'A' });
    t.report(1, { ok: true, digest: 'B' });
    // Worker 2 is loading B, slowly on a busy machine: nothing failed, so nothing is asked before the wait.
    expect(pending()).toEqual([UNREPORTED_WAIT_MS]);
    expect(UNREPORTED_WAIT_MS).toBeGreaterThanOrEqual(10_000);
    t.report(2, { ok: true, digest: 'B' });
    expect(elapse()).toEqual([]);
    expect(asked).toEqual([]);
    expect(told.at(-1)).toEqual({ generations: 1, diverged: false });
  });

  it('asks a worker silent for UNREPORTED_WAIT_MS once, and one that reports a failure meanwhile after 1 s', () => {
    const silent = tracker();
    silent.t.report(1, { ok: true, digest: 'A' });
    silent.t.report(2, { ok: true, digest: 'A' });
    silent.t.report(1, { ok: true, digest: 'B' });
    expect(silent.elapse()).toEqual([UNREPORTED_WAIT_MS]);
    expect(silent.asked).toEqual([[2, 'B', 1]]);
    // Asked, it is waited for again only once it reports: nothing more is set to ask it.
    expect(silent.pending()).toEqual([]);

    const failing = tracker();
    workerTwoFailsToFollow(failing.t);
    expect(failing.pending()).toEqual([1000]);
    expect(failing.elapse()).toEqual([1000]);
    expect(failing.asked).toEqual([[2, 'B', 1]]);
  });

  it('forgets a worker that has gone, and stops asking it', () => {
    const { t, asked, elapse } = tracker();
    workerTwoFailsToFollow(t);
    t.leave(2);
    expect(elapse()).toEqual([]);
    expect(asked).toEqual([]);
    expect(t.agreement()).toEqual({ generations: 1, diverged: false });
  });

  it('reads only the messages of this exchange', () => {
    expect(loadReportOf({ iamgateLoad: { ok: true, digest: 'abc' } })).toEqual({ ok: true, digest: 'abc' });
    expect(loadReportOf({ iamgateLoad: { ok: false, digest: null } })).toEqual({ ok: false });
    for (const m of [null, 'x', {}, { iamgateLoad: { ok: true, digest: '' } }, { iamgateLoad: { ok: true } }, { iamgateLoad: { ok: 'yes', digest: 'a' } }, { iamgateState: 1 }]) {
      expect([m, loadReportOf(m)]).toEqual([m, undefined]);
    }
    expect(loadAgainOf({ iamgateLoadAgain: 'abc' })).toBe('abc');
    expect(loadAgainOf({ iamgateLoadAgain: 1 })).toBeUndefined();
  });
});
