// Whether the workers of `serve --workers N` serve one policy set. Each worker loads the policy
// files itself (at start, on SIGHUP, on another worker's announcement), so a load can fail on one
// worker and succeed on another (a file caught mid-write, a ConfigMap switching versions between
// two workers' reads): that worker keeps deciding with the old set while the others serve the new.
// The primary hears every worker's load results here and keeps the workers' agreement: the latest
// set loaded anywhere is the one to serve; a worker whose load of it failed is asked to load again,
// after 1 s, then 2 s, 4 s ... at most 30 s apart, until it serves it or a newer set replaces it; a
// worker that has reported nothing since (it is loading it, slowly on a busy machine, or was never
// told of it) is asked only once it has been silent for UNREPORTED_WAIT_MS; and every worker is told
// how many sets the workers serve and whether one failed to follow, for its /readyz (not ready while
// workers disagree) and its metrics.

/** A worker's load result, as it tells the primary: the digest of the set it now serves. */
export interface LoadReport {
  readonly ok: boolean;
  /** The digest of the set loaded (ok), absent when the load failed (the worker serves what it served). */
  readonly digest?: string;
}

/** What the primary tells every worker about all of them. */
export interface WorkerAgreement {
  /** Distinct policy sets the workers serve (1 when they agree). */
  readonly generations: number;
  /** A worker failed to load the set the others serve, and serves an older one. */
  readonly diverged: boolean;
}

/** The messages of this exchange on the IPC channel. */
export type GenerationMessage =
  | { readonly iamgateLoad: { readonly ok: boolean; readonly digest: string | null } }
  | { readonly iamgateWorkers: WorkerAgreement }
  | { readonly iamgateLoadAgain: string };

/** A worker's report as sent to the primary. */
export function loadMessage(report: LoadReport): GenerationMessage {
  return { iamgateLoad: { ok: report.ok, digest: report.digest ?? null } };
}

const field = (message: unknown, name: string): unknown => (typeof message === 'object' && message !== null ? (message as Record<string, unknown>)[name] : undefined);

/** The load report a message carries, or undefined for any other message. */
export function loadReportOf(message: unknown): LoadReport | undefined {
  const r = field(message, 'iamgateLoad');
  const ok = field(r, 'ok');
  const digest = field(r, 'digest');
  if (typeof ok !== 'boolean') return undefined;
  if (ok && typeof digest === 'string' && digest !== '') return { ok, digest };
  return ok ? undefined : { ok };
}

/** The agreement a message from the primary carries, or undefined. */
export function agreementOf(message: unknown): WorkerAgreement | undefined {
  const a = field(message, 'iamgateWorkers');
  const generations = field(a, 'generations');
  const diverged = field(a, 'diverged');
  return typeof generations === 'number' && Number.isSafeInteger(generations) && typeof diverged === 'boolean' ? { generations, diverged } : undefined;
}

/** The digest the primary asks a worker to load again (its own files, to serve that set), or undefined. */
export function loadAgainOf(message: unknown): string | undefined {
  const digest = field(message, 'iamgateLoadAgain');
  return typeof digest === 'string' && digest !== '' ? digest : undefined;
}

export interface GenerationTrackerDeps {
  /** Asks one worker to load its policies again: it failed to load the set `digest` the others serve. */
  loadAgain(worker: number, digest: string, attempt: number): void;
  /** Tells every worker the agreement, each time it changes. */
  broadcast(agreement: WorkerAgreement): void;
  /** Runs `run` after `ms` (an unref'd timer); returns its cancel. */
  schedule(run: () => void, ms: number): () => void;
}

export interface GenerationTracker {
  report(worker: number, report: LoadReport): void;
  /** A worker is gone: it serves nothing any more. */
  leave(worker: number): void;
  agreement(): WorkerAgreement;
  close(): void;
}

const FIRST_RETRY_MS = 1000;
const LAST_RETRY_MS = 30_000;
/**
 * How long a worker away from the set to serve, whose last load did not fail, may stay silent before
 * it is asked to load it. A worker told of a new set reports its load within a second or two even
 * on a machine busy with traffic (a load reads and compiles the policy files once); one silent for
 * this long was never told of it, or is stuck.
 */
export const UNREPORTED_WAIT_MS = 10_000;

interface WorkerState {
  serving?: string;
  /** Its last load failed since the set to serve changed. */
  failed: boolean;
  retryInMs: number;
  attempts: number;
  cancel?: () => void;
}

/** In the primary: follows the workers' loads, asks the one that fell behind to load again, and tells all. */
export function createGenerationTracker(deps: GenerationTrackerDeps): GenerationTracker {
  const workers = new Map<number, WorkerState>();
  /** The set last loaded anywhere: the one every worker should serve. */
  let target: string | undefined;
  let told: WorkerAgreement = { generations: 0, diverged: false };

  /** Not serving the set to serve (yet: a worker that is loading it reports within a moment). */
  const away = (w: WorkerState): boolean => target !== undefined && w.serving !== target;
  /** Failed to load the set to serve: it decides with another one. */
  const behind = (w: WorkerState): boolean => w.failed && away(w);
  const agreement = (): WorkerAgreement => {
    const sets = new Set<string>();
    let diverged = false;
    for (const w of workers.values()) {
      if (w.serving !== undefined) sets.add(w.serving);
      diverged ||= behind(w);
    }
    return { generations: sets.size, diverged };
  };
  const stopRetrying = (w: WorkerState): void => {
    w.cancel?.();
    delete w.cancel;
    w.retryInMs = FIRST_RETRY_MS;
    w.attempts = 0;
  };
  const settle = (): void => {
    // A worker away from the set to serve is asked to load again unless it reports it first: one
    // that failed to load it, and one that was never told of it (a set loaded again by a worker
    // already serving it is not announced to the others).
    for (const [id, w] of workers) {
      if (!away(w)) stopRetrying(w);
      else if (!w.cancel && target !== undefined) {
        const digest = target;
        w.cancel = deps.schedule(
          () => {
            delete w.cancel;
            deps.loadAgain(id, digest, ++w.attempts);
          },
          w.failed ? w.retryInMs : UNREPORTED_WAIT_MS,
        );
        if (w.failed) w.retryInMs = Math.min(w.retryInMs * 2, LAST_RETRY_MS);
      }
    }
    const now = agreement();
    if (now.generations !== told.generations || now.diverged !== told.diverged) {
      told = now;
      deps.broadcast(now);
    }
  };

  return {
    report(worker, report) {
      let w = workers.get(worker);
      if (!w) workers.set(worker, (w = { failed: false, retryInMs: FIRST_RETRY_MS, attempts: 0 }));
      // What the worker was waited for has come: a failure is asked again after its own delay.
      w.cancel?.();
      delete w.cancel;
      if (report.ok && report.digest !== undefined) {
        if (report.digest !== target) {
          // A new set to serve: every other worker gets its own first attempt at it.
          target = report.digest;
          for (const other of workers.values()) {
            other.failed = false;
            stopRetrying(other);
          }
        }
        w.serving = report.digest;
        w.failed = false;
      } else {
        w.failed = true;
      }
      settle();
    },
    leave(worker) {
      const w = workers.get(worker);
      if (w) stopRetrying(w);
      workers.delete(worker);
      settle();
    },
    agreement,
    close() {
      for (const w of workers.values()) stopRetrying(w);
    },
  };
}
