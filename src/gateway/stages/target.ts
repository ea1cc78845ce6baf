// One normalisation of the request target: the path decided on is the path forwarded. A proxy
// asking forward-auth or ext_authz forwards the raw path, so it is decided only when already
// normalised; iamgate's own prefix is never forwarded.
import { errorBody } from '../errors.js';
import { isCanonicalTarget, LOOKALIKE_REJECTIONS, normalizeTarget } from '../path.js';
import { CONTINUE, type StageFactory } from './stage.js';

const RESERVED_PREFIX = '/.iamgate/';

export const target: StageFactory = (deps) => ({
  name: 'target',
  run(ctx) {
    const { facts, source } = ctx;
    const normalized = normalizeTarget(facts.target, deps.pathRules);
    if (!normalized.ok) {
      const code = LOOKALIKE_REJECTIONS.has(normalized.reason) ? 'unicode_lookalike' : 'bad_path';
      return { code, reason: code, body: { ...errorBody(code, facts.requestId), reason: normalized.reason }, detail: normalized.reason };
    }
    const t = normalized.target;
    ctx.target = t;
    ctx.event.path = t.path;
    if ((source === 'forward-auth' || source === 'ext-authz') && !isCanonicalTarget(facts.target, t)) {
      return { code: 'bad_path', reason: 'bad_path', body: { ...errorBody('bad_path', facts.requestId), reason: 'not_canonical' }, detail: 'not_canonical' };
    }
    // Forward-auth asks about the protected service's paths, which may use any prefix.
    if ((source === 'proxy' || source === 'websocket') && (t.path + '/').startsWith(RESERVED_PREFIX)) return { code: 'reserved_path', reason: 'reserved_path' };
    return CONTINUE;
  },
});
