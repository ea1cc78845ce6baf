// The shape every stage of the request pipeline has: it reads the request's context (the facts,
// and what earlier stages found), fills in what it finds, and either lets the request continue
// (`CONTINUE`) or answers it (a rejection). A stage is synchronous when its work is; it returns a
// Promise only when it must wait (a token to verify, a shared-cache lookup).
import type { Principal } from '../../identity/index.js';
import type { AuthzRequest, PolicySet } from '../../policy/index.js';
import type { RequestFacts } from '../context.js';
import type { Verdict } from '../decide.js';
import type { GatewayErrorCode } from '../../errors/index.js';
import type { NormalizedTarget } from '../path.js';
import type { DecisionEvent, DecisionSource, PipelineDeps, PipelineOverride, PolicySnapshot } from '../pipeline.js';
import type { RequestHeaders } from '../request-headers.js';
import type { RouteMatch } from '../routes/index.js';

/**
 * The request's decision event, filled in as the stages find things out: one object per request,
 * never a copy per stage; the pipeline sets `decision` and `reason` when the request is answered.
 */
export type EventBase = { -readonly [K in keyof DecisionEvent]: DecisionEvent[K] };

/** One request on its way through the stages. */
export interface StageContext {
  readonly facts: RequestFacts;
  readonly source: DecisionSource;
  readonly override: PipelineOverride | undefined;
  /** The client's headers, scanned once. */
  readonly headers: RequestHeaders;
  /** The direct peer is a trusted proxy. */
  readonly trustedPeer: boolean;
  readonly sourceIp: string;
  readonly secure: boolean;
  /** The decision event being built. */
  readonly event: EventBase;
  /** Set by `target`: the one normalised target, decided on and forwarded. */
  target: NormalizedTarget | undefined;
  /** Set by `policies`: the whole snapshot this request is decided against. */
  snapshot: PolicySnapshot | undefined;
  /** Set by `authenticate`. */
  principal: Principal | undefined;
  /** Set by `route`. */
  match: RouteMatch | undefined;
  /** Set by `context`. */
  request: AuthzRequest | undefined;
  /** Set by `decide`. */
  verdict: Verdict | undefined;
}

/** A stage's rejection: the error code and the reason recorded, with what differs from the code's defaults. */
export interface Answer {
  readonly code: GatewayErrorCode;
  /** The audit record's reason (and the body's, unless `body` is given). */
  readonly reason: string;
  readonly body?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  readonly status?: number;
  readonly message?: string;
  /** Present when the rejection is a policy decision (403). */
  readonly verdict?: Verdict;
  /** What was wrong, for the log only. */
  readonly detail?: string;
}

/** The request goes on to the next stage. */
export const CONTINUE = undefined;

/**
 * Runs that leave no audit record: operator simulations, and a tunnel decided again after a reload
 * (its one record is the request that opened it).
 */
export const UNAUDITED_SOURCES: ReadonlySet<DecisionSource> = new Set<DecisionSource>(['operator', 'tunnel']);

export type StageResult = Answer | typeof CONTINUE;

export interface Stage {
  readonly name: string;
  run(ctx: StageContext): StageResult | Promise<StageResult>;
}

/** What stages are built with: the pipeline's dependencies, and the keys each policy set reads (memoised per set). */
export interface StageDeps extends PipelineDeps {
  readonly keysOf: (set: PolicySet) => ReadonlySet<string>;
}

/** Builds a stage once, with its options checked then, never per request. */
export type StageFactory = (deps: StageDeps) => Stage;

/** A state a stage needs that an earlier stage sets: reaching it unset is a bug in the stage list, not bad input. */
export function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new TypeError(`pipeline stage order: ${what} is not set`);
  return value;
}
