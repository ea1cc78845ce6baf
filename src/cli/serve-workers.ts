// `iamgate serve --workers N`: N gateway processes on node:cluster sharing the listening sockets
// (the primary hands connections out round-robin), so one pod uses more than one core. Each worker
// is a whole gateway: its own in-process cache (the Redis L2 shared when configured), its own audit
// chain (instance id per process; file appends and pipe writes stay line-atomic), its own metrics.
// The primary starts workers and relays signals; when a worker dies unasked it stops the rest and
// exits 1, leaving restarts to the orchestrator. Without Redis it also holds the workers' one
// security state (TOTP replay marks, lockouts, revocations) and relays policy generations and
// revocations between them, so that N workers act as one gateway, never as N. With or without
// Redis it follows which policy set each worker serves (src/cluster/generations.ts).
import cluster, { type Worker } from 'node:cluster';
import type { PrimaryChannel } from '../app/index.js';
import { answerStateRequest, type StateStore } from '../auth/index.js';
import { busMessageOf, createGenerationTracker, loadReportOf, type GenerationMessage } from '../cluster/index.js';
import { EXIT } from './exit.js';
import type { CliIo } from './io.js';

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Reads `--workers N` (or `--workers=N`, else IAMGATE_WORKERS) from the arguments; the rest are
 * returned untouched. A bad number is named by where it came from, so the fix is where it is read.
 */
export function takeWorkers(argv: readonly string[], env: NodeJS.ProcessEnv): { workers: number; rest: string[] } | string {
  const rest: string[] = [];
  // An empty IAMGATE_WORKERS reads as unset; an empty or missing value after the flag is a mistake.
  let text = env['IAMGATE_WORKERS'] || undefined;
  let source = 'IAMGATE_WORKERS';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--workers') [text, source] = [argv[++i] ?? '', '--workers'];
    else if (arg.startsWith('--workers=')) [text, source] = [arg.slice('--workers='.length), '--workers'];
    else rest.push(arg);
  }
  if (text === undefined) return { workers: 1, rest };
  const workers = Number(text);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) return `${source} needs a whole number from 1 to 64 (got "${text}")`;
  return { workers, rest };
}

/** Whether this process should start workers instead of serving (a worker serves). */
export function isClusterPrimary(workers: number): boolean {
  return workers > 1 && cluster.isPrimary;
}

/** This process is one of `serve --workers`' workers (it shares its listeners with its siblings). */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/** In a worker, its channel to the primary; undefined in any other process. */
export function primaryChannel(): PrimaryChannel | undefined {
  const send = process.send?.bind(process);
  if (!cluster.isWorker || !send) return undefined;
  return {
    // Once the channel is closed, a send without a callback is an 'error' event that ends the
    // worker: a send then throws instead (the caller fails closed at once), and a send the channel
    // loses on the way is left to the caller's deadline.
    send: (message) => {
      if (!process.connected) throw new Error('the channel to the primary is closed');
      send(message, undefined, undefined, () => undefined);
    },
    onMessage: (listener) => void process.on('message', listener),
  };
}

/** Sends to a worker unless it has gone (its exit is handled on its own). */
function sendTo(worker: Worker, message: object | GenerationMessage): void {
  if (!worker.isConnected()) return;
  try {
    worker.send(message);
  } catch {
    // disconnected between the check and the send
  }
}

/** In a worker, closes the channel to the primary once the gateway has stopped (it would keep the process alive). */
export function leaveCluster(): void {
  if (cluster.isWorker) cluster.worker?.disconnect();
}

/** Forks `workers` copies of this command and relays signals to them; resolves to the exit code. */
export function runPrimary(workers: number, io: CliIo, state: StateStore): Promise<number> {
  return new Promise<number>((resolve) => {
    const alive = new Set<Worker>();
    let stopping = false;
    let failed = false;
    const relay = (signal: NodeJS.Signals): void => {
      if (signal !== 'SIGHUP') stopping = true;
      for (const worker of alive) worker.process.kill(signal);
    };
    const handlers = SIGNALS.map((signal) => {
      const handler = (): void => relay(signal);
      process.on(signal, handler);
      return [signal, handler] as const;
    });
    // `state` is the one state of every worker; the announcements of each go to the others (used without Redis).
    const onMessage = (worker: Worker, message: unknown): void => {
      const load = loadReportOf(message);
      if (load) {
        generations.report(worker.id, load);
        // The reporting worker hears the agreement too: a worker still starting missed what was told before.
        sendTo(worker, { iamgateWorkers: generations.agreement() });
        return;
      }
      const announcement = busMessageOf(message);
      if (announcement) {
        for (const other of alive) if (other !== worker) sendTo(other, announcement);
        return;
      }
      void answerStateRequest(state, message).then((reply) => reply && sendTo(worker, reply));
    };
    // Whether the workers serve one policy set: the one behind is asked to load again, all are told.
    const generations = createGenerationTracker({
      loadAgain: (id, digest, attempt) => {
        const worker = cluster.workers?.[id];
        if (!worker) return;
        io.stderr(`iamgate serve: worker ${worker.process.pid} does not serve the policies the others loaded (${digest.slice(0, 12)}); asking it to load them again (attempt ${attempt})`);
        sendTo(worker, { iamgateLoadAgain: digest });
      },
      broadcast: (agreement) => {
        for (const worker of alive) sendTo(worker, { iamgateWorkers: agreement });
      },
      schedule: (run, ms) => {
        const timer = setTimeout(run, ms);
        timer.unref();
        return () => clearTimeout(timer);
      },
    });
    cluster.on('message', onMessage);
    cluster.on('exit', (worker, code, signal) => {
      alive.delete(worker);
      generations.leave(worker.id);
      // A worker still starting has no handler for the stop signal yet and dies of it: while
      // stopping, that is the stop asked for, not a failure.
      const stoppedBySignal = stopping && (signal === 'SIGTERM' || signal === 'SIGINT');
      if (code !== 0 && !stoppedBySignal) failed = true;
      if (!stopping) {
        io.stderr(`iamgate serve: worker ${worker.process.pid} exited (${signal ?? `code ${code}`}); stopping the others`);
        failed = true;
        relay('SIGTERM');
      }
      if (alive.size === 0) {
        for (const [signal, handler] of handlers) process.off(signal, handler);
        cluster.off('message', onMessage);
        generations.close();
        resolve(failed ? EXIT.failed : EXIT.ok);
      }
    });
    for (let i = 0; i < workers; i++) alive.add(cluster.fork({ IAMGATE_WORKERS: '1' }));
  });
}
