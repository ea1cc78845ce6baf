// The decision: the cache first, the evaluator on a miss (synchronous on an L1 hit), timed and counted.
import type { Verdict } from '../decide.js';
import { CONTINUE, required, type StageContext, type StageFactory, type StageResult } from './stage.js';

/** The `result` label of the cache lookup counter for each level a verdict came from. */
const CACHE_RESULTS: Readonly<Record<Verdict['cache'], string>> = { miss: 'miss', l1: 'hit_l1', l2: 'hit_l2' };

export const decide: StageFactory = (deps) => {
  const { metrics, decider } = deps;
  const settle = (ctx: StageContext, verdict: Verdict, started: number): StageResult => {
    // An operator's simulation is counted nowhere, as in the pipeline's decision counts.
    if (ctx.source !== 'operator') {
      metrics.decisionSeconds.observe((performance.now() - started) / 1000);
      metrics.count.cacheLookup(CACHE_RESULTS[verdict.cache]);
    }
    ctx.verdict = verdict;
    return CONTINUE;
  };
  return {
    name: 'decide',
    run(ctx) {
      const principal = required(ctx.principal, 'the principal');
      const request = required(ctx.request, 'the request');
      const started = performance.now();
      const verdict = decider.decide(principal, request, required(ctx.snapshot, 'the policy snapshot').digest, ctx.facts.now);
      if (verdict instanceof Promise) return verdict.then((v) => settle(ctx, v, started));
      return settle(ctx, verdict, started);
    },
  };
};
