// The verdict into the record (which statements decided, which cache level answered) and, for a
// deny, the 403 with its reason: `mfa_required`, `explicit_deny` or `implicit_deny`.
import { explainDecision } from '../../policy/index.js';
import { denyBody } from '../errors.js';
import { CONTINUE, required, type StageFactory } from './stage.js';

export const verdict: StageFactory = (deps) => ({
  name: 'verdict',
  run(ctx) {
    const v = required(ctx.verdict, 'the verdict');
    ctx.event.statements = v.decision.matched.map((m) => (m.sid !== undefined ? { policy: m.policy, sid: m.sid } : { policy: m.policy }));
    ctx.event.cache = v.cache;
    if (v.reason === 'allowed') return CONTINUE;
    const match = required(ctx.match, 'the route');
    const explanation = explainDecision(v.decision);
    const body = denyBody(v.reason, match.action, match.resource, ctx.facts.requestId);
    if (deps.explainToCaller) body['explanation'] = explanation;
    return { code: 'access_denied', reason: v.reason, body, verdict: v, detail: explanation.join('; ') };
  },
});
