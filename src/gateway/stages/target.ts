// One normalisation of the request target: the path decided on is the path forwarded. A proxy
// asking forward-auth or ext_authz forwards the raw path, so it is decided only when already
// normalised; iamgate's own prefix is never forwarded.
import { errorBody } from '../../errors/index.js';
import { isCanonicalTarget, LOOKALIKE_REJECTIONS, normalizeTarget, type NormalizeResult } from '../path.js';
import { CONTINUE, type StageContext, type StageFactory, type StageResult } from './stage.js';

const RESERVED_PREFIX = '/.iamgate/';
const RESERVED_PATH = '/.iamgate';

/** Longest target whose normalisation is remembered; most are far shorter. */
const MAX_REMEMBERED_TARGET = 256;
/** Targets remembered at once; when full the memo starts again empty (a flood of made-up targets cannot grow it). */
const MAX_REMEMBERED = 1024;

export const target: StageFactory = (deps) => {
  // A target's normalisation depends on the target and the (fixed) rules alone, and its result is
  // immutable: a target seen again (the same few paths, request after request) is normalised once.
  let remembered = new Map<string, NormalizeResult>();
  const normalized = (raw: string): NormalizeResult => {
    let result = remembered.get(raw);
    if (result === undefined) {
      result = normalizeTarget(raw, deps.pathRules);
      if (raw.length <= MAX_REMEMBERED_TARGET) {
        if (remembered.size >= MAX_REMEMBERED) remembered = new Map();
        remembered.set(raw, result);
      }
    }
    return result;
  };
  return { name: 'target', run: (ctx) => decideTarget(ctx, normalized(ctx.facts.target)) };
};

/** The request goes on with its normalised target, or is refused for it. */
function decideTarget(ctx: StageContext, normalized: NormalizeResult): StageResult {
  const { facts, source } = ctx;
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
  if ((source === 'proxy' || source === 'websocket') && (t.path.startsWith(RESERVED_PREFIX) || t.path === RESERVED_PATH)) return { code: 'reserved_path', reason: 'reserved_path' };
  return CONTINUE;
}
