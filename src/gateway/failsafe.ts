// The pipeline's last line of defence. A stage that throws (an evaluator fault, a corrupt cache
// entry, a bug) is not bad input: the request is answered `internal_error` (500) from the error
// table, never allowed, and it still leaves exactly one audit record, as every answer must.
import type { Logger } from 'pino';
import { followRefusedRecord, type AuditSink } from './audit.js';
import { sourceAddress, type RequestFacts, type TrustedProxies } from './context.js';
import { errorAnswer, type GatewayErrorCode } from '../errors/index.js';
import { errorCodeOf } from './errors.js';
import type { GatewayMetrics } from './metrics.js';
import { EVENT_KINDS, type DecisionEvent, type DecisionSource, type Pipeline, type PipelineOutcome, type PipelineOverride, type Rejected } from './pipeline.js';
import { UNAUDITED_SOURCES } from './stages/index.js';
export interface FailSafeDeps {
  readonly audit: AuditSink;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly trustedProxies: TrustedProxies;
  /** The loaded policies' generation, recorded on the event when there is one. */
  readonly generation: () => number | undefined;
}

/**
 * A pipeline whose runs never throw and never reject: whatever fails inside is already an audited
 * answer. Only `failSafe` makes one, so a front door that asks for this type needs no catch of its own.
 */
export interface FailSafePipeline extends Pipeline {
  readonly failSafe: true;
  /**
   * Runs the pipeline and hands `done` its outcome, or the audited answer to whatever failed:
   * at once when nothing had to wait, and through the pipeline's `runThen`, so that waiting on the
   * audit record makes no Promise. A throw from `done` itself is not caught here.
   */
  answerThen(facts: RequestFacts, source: DecisionSource, done: (outcome: PipelineOutcome) => void, override?: PipelineOverride): void;
  /**
   * The audited answer to `err`, which a front door threw outside the pipeline (before any stage
   * ran, so nothing was recorded): the same `internal_error` record a throwing stage leaves.
   */
  failure(err: unknown, facts: RequestFacts, source: DecisionSource): Promise<PipelineOutcome>;
}

/** The rejection for `code`, with what is known of the request before any stage read it. */
function rejection(code: GatewayErrorCode, facts: RequestFacts, source: DecisionSource, deps: FailSafeDeps): Rejected {
  const { status, body } = errorAnswer(code, facts.requestId);
  const generation = deps.generation();
  const event: DecisionEvent = {
    kind: EVENT_KINDS[source],
    requestId: facts.requestId,
    method: facts.method,
    sourceIp: sourceAddress(facts.peerAddress, facts.rawHeaders, deps.trustedProxies),
    ...(generation !== undefined ? { policyGeneration: generation } : {}),
    ...(facts.trace ? { traceId: facts.trace.traceId } : {}),
    decision: 'Deny',
    reason: code,
    status,
  };
  return { kind: 'reject', code, status, body, headers: {}, event };
}

/**
 * Wraps a pipeline so that a throw becomes an audited `internal_error` answer. A throw means no
 * event was recorded (the pipeline records last, and catches its sink's failures), so this one is
 * the request's only record; a sink that refuses it turns the answer into `audit_unavailable`.
 * A run that answers synchronously (a cached allow) stays synchronous: no Promise is added.
 */
export function failSafe(pipeline: Pipeline, deps: FailSafeDeps): FailSafePipeline {
  /** The audited `internal_error` answer to a run that threw; never rejects (see `lastResort`). */
  async function failed(err: unknown, facts: RequestFacts, source: DecisionSource): Promise<PipelineOutcome> {
    try {
      return await answerFailure(err, facts, source);
    } catch {
      return lastResort(facts, source);
    }
  }
  /**
   * The 500 when answering the failure failed too (its logger or its metrics threw): still an
   * answer, from the error table, built from nothing that can throw. A FailSafePipeline never
   * rejects, so its callers hold no catch of their own.
   */
  function lastResort(facts: RequestFacts, source: DecisionSource): Rejected {
    const { status, body } = errorAnswer('internal_error', facts.requestId);
    const event: DecisionEvent = { kind: EVENT_KINDS[source], requestId: facts.requestId, method: facts.method, decision: 'Deny', reason: 'internal_error', status };
    return { kind: 'reject', code: 'internal_error', status, body, headers: {}, event };
  }
  async function answerFailure(err: unknown, facts: RequestFacts, source: DecisionSource): Promise<PipelineOutcome> {
    deps.logger.error({ requestId: facts.requestId, err }, 'pipeline failed');
    const answer = rejection(errorCodeOf(err), facts, source, deps);
    // An operator's simulation is counted nowhere, as in the pipeline's own counts.
    if (source !== 'operator') deps.metrics.count.decision('Rejected', answer.event.reason);
    if (UNAUDITED_SOURCES.has(source)) return answer;
    try {
      await deps.audit.record(answer.event);
      return answer;
    } catch (auditErr) {
      deps.logger.error({ requestId: facts.requestId, err: auditErr }, 'audit sink refused the internal_error event');
      const refused = rejection('audit_unavailable', facts, source, deps);
      followRefusedRecord(deps.audit, answer.event, auditErr, refused.status);
      return refused;
    }
  }
  return {
    failSafe: true,
    failure: failed,
    run(facts, source, override) {
      let outcome: PipelineOutcome | Promise<PipelineOutcome>;
      try {
        outcome = pipeline.run(facts, source, override);
      } catch (err) {
        return failed(err, facts, source);
      }
      return outcome instanceof Promise ? outcome.catch((err: unknown) => failed(err, facts, source)) : outcome;
    },
    answerThen(facts, source, done, override) {
      if (pipeline.runThen === undefined) {
        const outcome = this.run(facts, source, override);
        if (outcome instanceof Promise) void outcome.then(done);
        else done(outcome);
        return;
      }
      // Set once the pipeline has answered: a throw after that came from `done`, not from a stage.
      let answered = false;
      try {
        pipeline.runThen(
          facts,
          source,
          (err, outcome) => {
            answered = true;
            if (outcome !== undefined) done(outcome);
            else void failed(err, facts, source).then(done);
          },
          override,
        );
      } catch (err) {
        if (answered) throw err;
        void failed(err, facts, source).then(done);
      }
    },
  };
}
