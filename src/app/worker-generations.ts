// A `serve --workers N` worker's side of the workers' agreement on one policy set (see
// src/cluster/generations.ts): it tells the primary the result of every policy load, loads again
// when the primary asks (it failed to load the set the others serve), and keeps what the primary
// says of all the workers for /readyz (not ready while one serves an older set after failing to
// load the new one) and for /metrics.
import { Gauge, type Registry } from 'prom-client';
import { agreementOf, loadAgainOf, loadMessage, type WorkerAgreement } from '../cluster/index.js';
import type { LoadNotice } from '../gateway/index.js';
import type { PrimaryChannel } from './create.js';

export interface WorkerGenerations {
  /** Tells the primary how a policy load of this worker ended. */
  loaded(notice: LoadNotice): void;
  /** Why this worker is not ready on account of the workers' agreement (none while they agree). */
  notReady(): readonly string[];
}

export interface WorkerGenerationsDeps {
  readonly registry: Registry;
  /** Loads this worker's policies again. */
  readonly reload: () => void;
  /** Told when a load result cannot reach the primary (its channel closed): the primary then has stopped. */
  readonly onError: (err: unknown) => void;
}

/** Joins the workers' agreement over the channel to the primary. */
export function joinWorkerGenerations(primary: PrimaryChannel, deps: WorkerGenerationsDeps): WorkerGenerations {
  let agreement: WorkerAgreement = { generations: 0, diverged: false };
  const registers = [deps.registry];
  new Gauge({
    name: 'iamgate_worker_policy_generations',
    help: 'Distinct policy sets the workers of serve --workers serve (1 when they agree)',
    registers,
    collect() {
      this.set(agreement.generations);
    },
  });
  new Gauge({
    name: 'iamgate_worker_policy_behind',
    help: 'Whether a worker of serve --workers failed to load the policies the others serve and decides with older ones (1) or not (0)',
    registers,
    collect() {
      this.set(agreement.diverged ? 1 : 0);
    },
  });
  primary.onMessage((message) => {
    const told = agreementOf(message);
    if (told) agreement = told;
    else if (loadAgainOf(message) !== undefined) deps.reload();
  });
  return {
    loaded(notice) {
      try {
        primary.send(loadMessage(notice.ok ? { ok: true, digest: notice.snapshot.digest } : { ok: false }));
      } catch (err) {
        deps.onError(err);
      }
    },
    notReady: () =>
      agreement.diverged ? [`the workers serve ${agreement.generations} policy sets: one failed to load the policies the others serve and is loading them again`] : [],
  };
}
