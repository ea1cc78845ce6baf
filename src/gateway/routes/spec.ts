// The route map file (`routes.yaml`): its parsed shape, and validation that reports every problem
// with its path (`routes[2].resource`) instead of stopping at the first.
import type { Finding } from '../../config/findings.js';
import { FileReader, isDoc } from '../../config/reader.js';
import { normalizeTarget } from '../path.js';
import { checkArnShape, parseTemplate, type CompiledTemplate } from './template.js';

export type PatternSegment =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'splat'; readonly name: string };

/** Where an extra condition key takes its value from. */
export interface ContextSource {
  /** Condition key as written, e.g. `orders:Status`. */
  readonly key: string;
  readonly from: 'query' | 'header';
  /** Query parameter name, or lower-cased header name. */
  readonly name: string;
}

export interface RouteSpec {
  /** Position in the file's `routes` list. */
  readonly index: number;
  /** Upper-case method, or `*` for any method. */
  readonly method: string;
  /** The pattern as written (`/orders/:id`). */
  readonly pattern: string;
  readonly segments: readonly PatternSegment[];
  readonly action: string;
  readonly resource: CompiledTemplate;
  readonly context: readonly ContextSource[];
}

export type UnmatchedPolicy = { readonly mode: 'deny' } | { readonly mode: 'map'; readonly resource: CompiledTemplate };

export interface RouteMapSpec {
  readonly service: string;
  readonly caseSensitive: boolean;
  readonly unmatched: UnmatchedPolicy;
  readonly routes: readonly RouteSpec[];
}

const SERVICE = /^[a-z0-9][a-z0-9-]*$/;
const ACTION = /^[A-Za-z0-9-]+:[A-Za-z0-9]+$/;
const CONTEXT_KEY = /^[A-Za-z0-9-]+:[A-Za-z0-9_\-/.]+$/;
const PARAM = /^[A-Za-z_][A-Za-z0-9_]*$/;
const METHOD = /^[A-Z]+$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const RESERVED_KEY_PREFIXES = ['aws:', 'iamgate:'];
const TOP_KEYS = ['version', 'service', 'arnPrefix', 'caseSensitive', 'unmatched', 'routes'];
const ROUTE_KEYS = ['route', 'action', 'resource', 'context'];
/** What each key a route cannot do without holds, for the MISSING_KEY finding that names it. */
const REQUIRED_ROUTE_KEYS = { route: 'a route, "METHOD /path"', action: 'an action, "service:ActionName"', resource: 'a resource, an ARN template' } as const;
const UNMATCHED_KEYS = ['mode', 'resource'];
const SOURCE_KEYS = ['query', 'header'] as const;

/** Parses `METHOD /path` into its method and segments, reporting a malformed pattern. */
function parsePattern(text: string, path: string, out: FileReader): { method: string; pattern: string; segments: PatternSegment[] } | undefined {
  const m = /^(\S+)\s+(\S+)$/.exec(text.trim());
  if (!m) {
    out.add('ROUTE_PATTERN', path, `"${text}" is not "METHOD /path" (e.g. "GET /orders/:id")`);
    return undefined;
  }
  const method = m[1] === 'ANY' ? '*' : m[1]!;
  const pattern = m[2]!;
  if (method !== '*' && !METHOD.test(method)) {
    out.add('ROUTE_PATTERN', path, `"${m[1]}" is not an upper-case HTTP method, ANY or *`);
    return undefined;
  }
  if (!pattern.startsWith('/')) {
    out.add('ROUTE_PATTERN', path, `path "${pattern}" must start with "/"`);
    return undefined;
  }
  const segments: PatternSegment[] = [];
  const names = new Set<string>();
  const raw = pattern === '/' ? [] : pattern.slice(1).split('/');
  for (let i = 0; i < raw.length; i++) {
    const seg = raw[i]!;
    const last = i === raw.length - 1;
    if (seg.startsWith(':') || seg.startsWith('*')) {
      const name = seg.startsWith('*') && seg.length === 1 ? '*' : seg.slice(1);
      if (name !== '*' && !PARAM.test(name)) {
        out.add('ROUTE_PATTERN', path, `"${seg}" is not a valid parameter (":name" or "*name")`);
        return undefined;
      }
      if (seg.startsWith('*') && !last) {
        out.add('ROUTE_PATTERN', path, `wildcard "${seg}" must be the last segment`);
        return undefined;
      }
      if (names.has(name)) {
        out.add('ROUTE_PATTERN', path, `parameter "${name}" appears twice`);
        return undefined;
      }
      names.add(name);
      segments.push(seg.startsWith('*') ? { kind: 'splat', name } : { kind: 'param', name });
      continue;
    }
    const canonical = normalizeTarget('/' + seg);
    if (seg === '' || !canonical.ok || canonical.target.path !== '/' + seg) {
      out.add('ROUTE_PATTERN', path, `segment "${seg}" is empty or not in canonical form, so no normalised request path could match it`);
      return undefined;
    }
    segments.push({ kind: 'literal', value: seg });
  }
  return { method, pattern, segments };
}

function parseContext(value: unknown, path: string, out: FileReader): ContextSource[] {
  if (value === undefined) return [];
  if (!isDoc(value)) {
    out.add('DATA_TYPE_MISMATCH', path, 'context must be a mapping of condition key to { query: NAME } or { header: NAME }');
    return [];
  }
  const sources: ContextSource[] = [];
  for (const [key, src] of Object.entries(value)) {
    const at = `${path}.${key}`;
    if (!CONTEXT_KEY.test(key)) out.add('ROUTE_CONTEXT_KEY', at, `"${key}" is not a condition key ("service:Name")`);
    else if (RESERVED_KEY_PREFIXES.some((p) => key.toLowerCase().startsWith(p))) {
      out.add('ROUTE_CONTEXT_KEY', at, `"${key}" uses a reserved prefix (aws:, iamgate:); these keys are set by iamgate itself`);
    }
    if (!isDoc(src)) {
      out.add('DATA_TYPE_MISMATCH', at, 'expected { query: NAME } or { header: NAME }');
      continue;
    }
    out.unknownKeys(src, at, SOURCE_KEYS);
    const given = SOURCE_KEYS.filter((k) => src[k] !== undefined);
    const from = given[0];
    if (from === undefined || given.length > 1) {
      out.add('EXCLUSIVE_KEYS', at, 'expected exactly one of { query: NAME } or { header: NAME }');
      continue;
    }
    const name = src[from];
    if (typeof name !== 'string') {
      out.add('DATA_TYPE_MISMATCH', `${at}.${from}`, `must be a string (a ${from === 'query' ? 'query parameter' : 'header'} name)`);
      continue;
    }
    if (from === 'query') {
      if (name === '') out.add('INVALID_VALUE', `${at}.query`, 'query parameter name is empty');
      sources.push({ key, from: 'query', name });
    } else {
      const header = name;
      if (!HEADER_NAME.test(header)) out.add('INVALID_VALUE', `${at}.header`, `"${header}" is not a header name`);
      else if (header.toLowerCase().startsWith('x-iamgate-') || header.toLowerCase() === 'authorization') {
        out.add('ROUTE_CONTEXT_KEY', `${at}.header`, `"${header}" cannot feed a condition key (credentials and iamgate's own headers are excluded)`);
      } else if (header.includes('_')) {
        // The gateway drops every header whose name holds "_" (CGI-style upstreams fold "_" and "-"),
        // so such a header could feed the decision but would never reach the service.
        out.add('ROUTE_CONTEXT_KEY', `${at}.header`, `"${header}" contains "_": iamgate drops such headers, so the service would never see the value the decision used`);
      }
      sources.push({ key, from: 'header', name: header.toLowerCase() });
    }
  }
  return sources;
}

function parseResource(text: unknown, prefix: string, allowed: ReadonlySet<string>, path: string, out: FileReader): CompiledTemplate | undefined {
  if (text === undefined) return undefined; // a MISSING_KEY already
  if (typeof text !== 'string' || text === '') {
    out.add(typeof text === 'string' ? 'INVALID_VALUE' : 'DATA_TYPE_MISMATCH', path, 'resource must be a non-empty string (an ARN template)');
    return undefined;
  }
  const full = text.startsWith('arn:') ? text : prefix + text;
  const parsed = parseTemplate(full);
  if (!parsed.ok) {
    out.add('ROUTE_RESOURCE', path, parsed.message);
    return undefined;
  }
  const unknown = parsed.template.variables.filter((v) => !allowed.has(v));
  if (unknown.length > 0) {
    out.add('ROUTE_VARIABLE', path, `unknown variable(s) ${unknown.map((v) => `\${${v}}`).join(', ')}; available: ${[...allowed].join(', ') || 'none'}`);
    return undefined;
  }
  const sample = parsed.template.fill(new Map(parsed.template.variables.map((v) => [v, 'x'])));
  const shape = checkArnShape(sample);
  if (shape) {
    out.add('ROUTE_RESOURCE', path, shape + (text.startsWith('arn:') ? '' : ' (after arnPrefix)'));
    return undefined;
  }
  return parsed.template;
}

function parseUnmatched(value: unknown, prefix: string, out: FileReader): UnmatchedPolicy {
  if (value === undefined || value === 'deny') return { mode: 'deny' };
  if (isDoc(value) && value['mode'] === 'deny') return { mode: 'deny' };
  if (isDoc(value) && value['mode'] === 'map') {
    out.unknownKeys(value, 'unmatched', UNMATCHED_KEYS);
    const resource = parseResource(value['resource'], prefix, new Set(['path']), 'unmatched.resource', out);
    return resource ? { mode: 'map', resource } : { mode: 'deny' };
  }
  out.add('INVALID_VALUE', 'unmatched', 'expected "deny" or { mode: map, resource: TEMPLATE using ${path} }');
  return { mode: 'deny' };
}

function parseRoute(value: unknown, index: number, doc: { service: string; prefix: string }, out: FileReader): RouteSpec | undefined {
  const base = `routes[${index}]`;
  if (!isDoc(value)) {
    out.add('DATA_TYPE_MISMATCH', base, 'each route is a mapping with route, action and resource');
    return undefined;
  }
  out.unknownKeys(value, base, ROUTE_KEYS);
  for (const key of ['route', 'action', 'resource'] as const) {
    if (value[key] === undefined) out.add('MISSING_KEY', `${base}.${key}`, `a route needs ${REQUIRED_ROUTE_KEYS[key]}`);
  }
  const routeText = value['route'];
  const pattern = typeof routeText === 'string' ? parsePattern(routeText, `${base}.route`, out) : undefined;
  if (typeof routeText !== 'string' && routeText !== undefined) out.add('DATA_TYPE_MISMATCH', `${base}.route`, 'route must be a string "METHOD /path"');
  const action = value['action'];
  if (action !== undefined && (typeof action !== 'string' || !ACTION.test(action))) {
    out.add('ROUTE_ACTION', `${base}.action`, `action must be "service:ActionName" without wildcards (got ${JSON.stringify(action)})`);
  } else if (typeof action === 'string' && action.split(':')[0]!.toLowerCase() !== doc.service) {
    out.add('ROUTE_SERVICE_MISMATCH', `${base}.action`, `action "${action}" is not in this map's service "${doc.service}"`);
  }
  const names = new Set(pattern?.segments.flatMap((s) => (s.kind === 'literal' || s.name === '*' ? [] : [s.name])) ?? []);
  const resource = parseResource(value['resource'], doc.prefix, names, `${base}.resource`, out);
  const context = parseContext(value['context'], `${base}.context`, out);
  if (!pattern || !resource || typeof action !== 'string' || !ACTION.test(action)) return undefined;
  return { index, method: pattern.method, pattern: pattern.pattern, segments: pattern.segments, action, resource, context };
}

/** Identifies a route's shape for duplicate detection: parameter names do not matter, only positions. */
function shapeKey(route: RouteSpec, caseSensitive: boolean): string {
  const segs = route.segments.map((s) => (s.kind === 'literal' ? (caseSensitive ? s.value : s.value.toLowerCase()) : s.kind === 'param' ? ':' : '*'));
  return `${route.method} /${segs.join('/')}`;
}

/** Validates a parsed route-map document; `spec` is undefined when any finding is an error. */
export function parseRouteMap(doc: unknown, file?: string): { spec: RouteMapSpec | undefined; findings: Finding[] } {
  const out = new FileReader(file);
  if (!isDoc(doc)) {
    out.add('DATA_TYPE_MISMATCH', '', 'the route map must be a mapping with version, service and routes');
    return { spec: undefined, findings: out.findings };
  }
  out.unknownKeys(doc, '', TOP_KEYS);
  if (doc['version'] !== 1) out.add('INVALID_VALUE', 'version', 'version must be 1');
  const service = doc['service'];
  if (typeof service !== 'string' || !SERVICE.test(service)) out.add('INVALID_VALUE', 'service', 'service must be a lower-case service namespace such as "orders"');
  const prefix = doc['arnPrefix'] ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !prefix.startsWith('arn:'))) out.add('INVALID_VALUE', 'arnPrefix', 'arnPrefix must be a string starting with "arn:"');
  const caseSensitive = doc['caseSensitive'] ?? true;
  if (typeof caseSensitive !== 'boolean') out.add('DATA_TYPE_MISMATCH', 'caseSensitive', 'caseSensitive must be true or false');
  const ctx = { service: typeof service === 'string' ? service : '', prefix: typeof prefix === 'string' ? prefix : '' };
  const unmatched = parseUnmatched(doc['unmatched'], ctx.prefix, out);
  const list = doc['routes'];
  const routes: RouteSpec[] = [];
  if (!Array.isArray(list)) out.add('DATA_TYPE_MISMATCH', 'routes', 'routes must be a list');
  else {
    const seen = new Map<string, number>();
    list.forEach((value: unknown, i) => {
      const route = parseRoute(value, i, ctx, out);
      if (!route) return;
      const key = shapeKey(route, caseSensitive !== false);
      const first = seen.get(key);
      if (first !== undefined) out.add('ROUTE_DUPLICATE', `routes[${i}].route`, `same method and path shape as routes[${first}] ("${key}")`);
      else seen.set(key, i);
      routes.push(route);
    });
  }
  if (out.hasErrors()) return { spec: undefined, findings: out.findings };
  return { spec: { service: ctx.service, caseSensitive: caseSensitive !== false, unmatched, routes }, findings: out.findings };
}
