// Route matching, precompiled: one segment trie per method, walked once per request (literal
// before parameter before wildcard, with backtracking), never a scan over the route list.
import { decodeSegment } from '../path.js';
import type { ContextSource, RouteMapSpec, RouteSpec } from './spec.js';

/** What a request maps to in IAM terms. */
export interface RouteMatch {
  readonly action: string;
  readonly resource: string;
  /** The route pattern (`GET /orders/:id`), or undefined when the unmatched fallback mapped the request. */
  readonly route: string | undefined;
  /** Path parameters, percent-decoded. */
  readonly params: ReadonlyMap<string, string>;
  /** Extra condition keys this route takes from the request. */
  readonly context: readonly ContextSource[];
}

export interface CompiledRouteMap {
  readonly service: string;
  readonly routeCount: number;
  /** Maps a method and normalised path segments to an action and resource; undefined means unmatched and denied. */
  match(method: string, segments: readonly string[], path: string): RouteMatch | undefined;
}

interface Node {
  readonly literals: Map<string, Node>;
  param: Node | undefined;
  route: RouteSpec | undefined;
  splat: RouteSpec | undefined;
}

function newNode(): Node {
  return { literals: new Map(), param: undefined, route: undefined, splat: undefined };
}

function insert(root: Node, route: RouteSpec, caseSensitive: boolean): void {
  let node = root;
  for (const seg of route.segments) {
    if (seg.kind === 'splat') {
      node.splat ??= route;
      return;
    }
    if (seg.kind === 'param') {
      node.param ??= newNode();
      node = node.param;
      continue;
    }
    const key = caseSensitive ? seg.value : seg.value.toLowerCase();
    let next = node.literals.get(key);
    if (!next) {
      next = newNode();
      node.literals.set(key, next);
    }
    node = next;
  }
  node.route ??= route;
}

/** Walks the trie; `captures` receives the raw values of parameters and the wildcard, in pattern order. */
function walk(node: Node, segs: readonly string[], i: number, captures: string[], caseSensitive: boolean): RouteSpec | undefined {
  if (i === segs.length) return node.route;
  const seg = segs[i]!;
  if (seg !== '') {
    const lit = node.literals.get(caseSensitive ? seg : seg.toLowerCase());
    if (lit) {
      const found = walk(lit, segs, i + 1, captures, caseSensitive);
      if (found) return found;
    }
    if (node.param) {
      captures.push(seg);
      const found = walk(node.param, segs, i + 1, captures, caseSensitive);
      if (found) return found;
      captures.pop();
    }
  }
  if (node.splat) {
    captures.push(segs.slice(i).join('/'));
    return node.splat;
  }
  return undefined;
}

function methodName(method: string): string {
  return method.charAt(0).toUpperCase() + method.slice(1).toLowerCase();
}

/** Compiles a validated route map into per-method tries. */
export function compileRouteMap(spec: RouteMapSpec): CompiledRouteMap {
  const byMethod = new Map<string, Node>();
  const any = newNode();
  for (const route of spec.routes) {
    let root = route.method === '*' ? any : byMethod.get(route.method);
    if (!root) {
      root = newNode();
      byMethod.set(route.method, root);
    }
    insert(root, route, spec.caseSensitive);
  }
  const { caseSensitive, unmatched, service } = spec;
  // Tries to consult per method: its own routes, then (for HEAD) GET's, then routes for any method.
  const order = (method: string): readonly Node[] => {
    const own = byMethod.get(method);
    const get = method === 'HEAD' ? byMethod.get('GET') : undefined;
    return [own, get, any].filter((n): n is Node => n !== undefined);
  };
  const plans = new Map<string, readonly Node[]>();
  for (const m of [...byMethod.keys(), 'HEAD', 'GET']) plans.set(m, order(m));

  return {
    service,
    routeCount: spec.routes.length,
    match(method, segments, path) {
      const roots = plans.get(method) ?? [any];
      const captures: string[] = [];
      for (const root of roots) {
        const route = walk(root, segments, 0, captures, caseSensitive);
        if (!route) continue;
        const params = new Map<string, string>();
        let k = 0;
        for (const seg of route.segments) {
          if (seg.kind === 'literal') continue;
          params.set(seg.name, decodeSegment(captures[k++] ?? ''));
        }
        return { action: route.action, resource: route.resource.fill(params), route: `${route.method === '*' ? 'ANY' : route.method} ${route.pattern}`, params, context: route.context };
      }
      if (unmatched.mode === 'deny') return undefined;
      return {
        action: `${service}:${methodName(method)}`,
        resource: unmatched.resource.fill(new Map([['path', path]])),
        route: undefined,
        params: new Map(),
        context: [],
      };
    },
  };
}
