// The condition context, from headers the upstream will receive as they were decided on, holding
// only the keys the deciding policies can read (a key nobody reads cannot change the decision;
// with shadow evaluation on, the candidate's policies read too, so every key is built).
import { connectionTokens } from '../../proxy/index.js';
import { buildRequestContext } from '../context.js';
import { errorBody } from '../../errors/index.js';
import type { DecisionSource } from '../pipeline.js';
import type { RouteMatch } from '../routes/index.js';
import { CONTINUE, required, type StageFactory } from './stage.js';

/** Front doors whose requests iamgate forwards itself, dropping every header whose name holds `_`. */
const FORWARDED_BY_IAMGATE: ReadonlySet<DecisionSource> = new Set<DecisionSource>(['proxy', 'websocket', 'tunnel']);

/** Headers read for request keys (aws:UserAgent, aws:Referer) whatever the route. */
const CONTEXT_HEADERS = ['user-agent', 'referer'];

/**
 * A header the decision reads that `Connection` names: the upstream would never receive the value
 * that was decided on, so the request is refused rather than forwarded without it.
 */
function connectionHidden(raw: readonly string[], match: RouteMatch): string | undefined {
  const listed = connectionTokens(raw);
  if (!listed) return undefined;
  for (const name of CONTEXT_HEADERS) if (listed.has(name)) return name;
  for (const source of match.context) if (source.from === 'header' && listed.has(source.name)) return source.name;
  return undefined;
}

export const context: StageFactory = (deps) => ({
  name: 'context',
  run(ctx) {
    const { facts, headers } = ctx;
    const match = required(ctx.match, 'the route');
    const principal = required(ctx.principal, 'the principal');
    const hidden = headers.connectionNames ? connectionHidden(facts.rawHeaders, match) : undefined;
    if (hidden !== undefined) {
      return { code: 'bad_header', reason: 'bad_header', body: { ...errorBody('bad_header', facts.requestId), reason: 'connection_names_condition_header' }, detail: `Connection names ${hidden}` };
    }
    const t = required(ctx.target, 'the target');
    const reads = ctx.snapshot?.shadow ? undefined : deps.keysOf(principal.policySet);
    const built = buildRequestContext(principal, facts, match, t.path, t.query, ctx, headers, reads, FORWARDED_BY_IAMGATE.has(ctx.source));
    if (!built.ok) return { code: 'ambiguous_parameter', reason: 'ambiguous_parameter', detail: `condition key ${built.key} has more than one value, or one read differently by different upstreams` };
    ctx.request = { principal: principal.arn, action: match.action, resource: match.resource, context: built.context };
    return CONTINUE;
  },
});
