// The verdict into the record (which statements decided, which cache level answered) and, for a
// deny, the 403 with its reason: `mfa_required`, `explicit_deny` or `implicit_deny`.
import { explainDecision, type Decision } from '../../policy/index.js';
import { denyBody } from '../../errors/index.js';
import { CONTINUE, required, type EventBase, type StageFactory } from './stage.js';

type Statements = NonNullable<EventBase['statements']>;

export const verdict: StageFactory = (deps) => {
  // A cached decision is the same object for every request it answers: its statements are listed
  // once, frozen, so the audit encoder may keep their text per list (src/audit/encode.ts).
  const listed = new WeakMap<Decision, Statements>();
  const statementsOf = (decision: Decision): Statements => {
    let statements = listed.get(decision);
    if (!statements) {
      statements = Object.freeze(decision.matched.map((m) => Object.freeze(m.sid !== undefined ? { policy: m.policy, sid: m.sid } : { policy: m.policy })));
      listed.set(decision, statements);
    }
    return statements;
  };
  // Its explanation too (a deny answered from the cache is explained once).
  const explained = new WeakMap<Decision, { readonly lines: string[]; readonly detail: string }>();
  const explanationOf = (decision: Decision): { readonly lines: string[]; readonly detail: string } => {
    let explanation = explained.get(decision);
    if (!explanation) {
      const lines = explainDecision(decision);
      explanation = { lines, detail: lines.join('; ') };
      explained.set(decision, explanation);
    }
    return explanation;
  };
  return {
    name: 'verdict',
    run(ctx) {
      const v = required(ctx.verdict, 'the verdict');
      ctx.event.statements = statementsOf(v.decision);
      ctx.event.cache = v.cache;
      if (v.reason === 'allowed') return CONTINUE;
      const match = required(ctx.match, 'the route');
      const explanation = explanationOf(v.decision);
      const body = denyBody(v.reason, match.action, match.resource, ctx.facts.requestId);
      if (deps.explainToCaller) body['explanation'] = explanation.lines;
      return { code: 'access_denied', reason: v.reason, body, verdict: v, detail: explanation.detail };
    },
  };
};
