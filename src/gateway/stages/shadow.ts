// Shadow evaluation (`policies.shadow`): the candidate policies decide the same request too, and a
// disagreement is recorded; the live verdict stands. Operator simulations are not shadowed.
import { CONTINUE, required, type StageFactory } from './stage.js';

export const shadow: StageFactory = (deps) => ({
  name: 'shadow',
  run(ctx) {
    const candidate = ctx.snapshot?.shadow;
    if (!candidate || ctx.source === 'operator') return CONTINUE;
    const request = required(ctx.request, 'the request');
    const judged = candidate.judge(required(ctx.principal, 'the principal'), request, required(ctx.verdict, 'the verdict').decision.decision === 'Allow');
    deps.shadowLog?.record(judged, request, ctx.facts.now);
    if (judged !== undefined) ctx.event.shadow = judged;
    return CONTINUE;
  },
});
