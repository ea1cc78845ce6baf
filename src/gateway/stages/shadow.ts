// Shadow evaluation (`policies.shadow`): the candidate policies decide the same request too, and a
// disagreement is recorded; the live verdict stands. Runs that leave no audit record (operator
// simulations, a tunnel decided again after a reload) are not shadowed: a disagreement is counted
// once per request, beside the request's one record.
import { CONTINUE, required, UNAUDITED_SOURCES, type StageFactory } from './stage.js';

export const shadow: StageFactory = (deps) => ({
  name: 'shadow',
  run(ctx) {
    const candidate = ctx.snapshot?.shadow;
    if (!candidate || UNAUDITED_SOURCES.has(ctx.source)) return CONTINUE;
    const request = required(ctx.request, 'the request');
    const judged = candidate.judge(required(ctx.principal, 'the principal'), request, required(ctx.verdict, 'the verdict').decision.decision === 'Allow');
    deps.shadowLog?.record(judged, request, ctx.facts.now);
    if (judged !== undefined) ctx.event.shadow = judged;
    return CONTINUE;
  },
});
