// The route map: method and normalised path to an IAM action and resource. No route: an implicit deny.
import { denyBody } from '../../errors/index.js';
import { CONTINUE, required, type StageFactory } from './stage.js';

export const route: StageFactory = () => ({
  name: 'route',
  run(ctx) {
    const t = required(ctx.target, 'the target');
    const match = required(ctx.snapshot, 'the policy snapshot').routes.match(ctx.facts.method, t.segments, t.path);
    if (!match) return { code: 'access_denied', reason: 'no_route', body: denyBody('implicit_deny', null, null, ctx.facts.requestId), detail: 'no route matches the method and path' };
    ctx.match = match;
    ctx.event.action = match.action;
    ctx.event.resource = match.resource;
    return CONTINUE;
  },
});
