// The access matrix of a policy folder: every directory principal (users, and roles as sessions)
// against every route of the route map and every action the managed policies name outside the
// routes. A cell is allowed, denied, or conditional: denied as asked, but an Allow statement
// matched the action and resource and failed only on conditions (the keys it depends on). Any
// cell also carries the statements with conditions that could decide it otherwise in another
// context (another address, time, second factor), so that a change to them is a change of the cell.
import { compilePolicy, evaluate, parsePolicy, type CompiledPolicy, type ContextValue, type PolicySet } from '../policy/index.js';
import { conditionedStatements } from './conditioned.js';
import { decideOffline, resolvePrincipal, type PrincipalSpec, type RequestSpec } from './decide.js';
import type { PolicyWorld } from './world.js';

export type Access = 'allow' | 'conditional' | 'deny';

export interface Cell {
  readonly access: Access;
  /**
   * Condition keys the cell depends on (sorted): those a conditional grant failed on, and those of
   * every statement with conditions that could decide the request otherwise in another context.
   */
  readonly keys: readonly string[];
  /** Those statements as written, with their policy type; empty when no context can change the cell. */
  readonly conditions: readonly string[];
}

export interface MatrixPrincipal {
  /** `user alice`, `role OrdersAdmin`. */
  readonly label: string;
  readonly spec: PrincipalSpec;
}

export interface MatrixColumn {
  /** `GET /orders/:id` for a route, `sts:AssumeRole arn:...` for an action. */
  readonly label: string;
  readonly action: string;
  readonly request: RequestSpec;
}

const SAMPLE = 'example';
const DENY: Cell = { access: 'deny', keys: [], conditions: [] };

/** Every directory user, and every role as a session. */
export function matrixPrincipals(world: PolicyWorld): MatrixPrincipal[] {
  return [
    ...[...world.directory.users.keys()].map((name) => ({ label: `user ${name}`, spec: { user: name } })),
    ...[...world.directory.roles.keys()].map((name) => ({ label: `role ${name}`, spec: { role: name } })),
  ];
}

/** One column per route (its parameters take a sample value), then literal actions the policies name on their resources. */
export function matrixColumns(world: PolicyWorld): MatrixColumn[] {
  const columns: MatrixColumn[] = [];
  const routed = new Set<string>();
  for (const r of world.routeList) {
    const path = `/${r.segments.map((s) => (s.kind === 'literal' ? s.value : SAMPLE)).join('/')}`;
    const method = r.method === '*' ? 'GET' : r.method;
    columns.push({ label: `${r.method} ${r.pattern}`, action: r.action, request: { method, path } });
    routed.add(r.action.toLowerCase());
  }
  const seen = new Set<string>();
  for (const policy of world.directory.policies.values()) {
    for (const stmt of statementsOf(policy.document)) {
      for (const action of stmt.actions) {
        if (/[*?]/.test(action) || routed.has(action.toLowerCase())) continue;
        for (const resource of stmt.resources) {
          const label = `${action} ${resource}`;
          if (seen.has(label)) continue;
          seen.add(label);
          columns.push({ label, action, request: { action, resource } });
        }
      }
    }
  }
  return columns;
}

/** The Action and Resource lists of a policy document's statements, as written. */
function statementsOf(doc: unknown): { actions: string[]; resources: string[] }[] {
  const list = (v: unknown): string[] => (typeof v === 'string' ? [v] : Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const statements = (doc as { Statement?: unknown } | null)?.Statement;
  const all = Array.isArray(statements) ? statements : statements === undefined ? [] : [statements];
  return all.map((s: unknown) => {
    const o = (s ?? {}) as { Action?: unknown; Resource?: unknown };
    return { actions: list(o.Action), resources: list(o.Resource) };
  });
}

/** The condition key a near-miss path names: `Statement[0].Condition.Bool.aws:MultiFactorAuthPresent`. */
function keyOf(path: string): string {
  const parts = path.split('.');
  const at = parts.indexOf('Condition');
  return at < 0 ? path : parts.slice(at + 2).join('.');
}

/** An identity policy that allows everything: with it in place, only the other policy types decide. */
function allowAll(): CompiledPolicy {
  const { policy } = parsePolicy({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }, { kind: 'identity' });
  if (!policy) throw new TypeError('the allow-all stand-in does not parse');
  return compilePolicy(policy, 'iamgate/AllowAll', 'identity');
}
const ALLOW_ALL = allowAll();

/** Decides one cell for a principal spec and a column. */
export function cellFor(world: PolicyWorld, spec: PrincipalSpec, column: MatrixColumn, now: number, context: Readonly<Record<string, ContextValue>> = {}): Cell {
  const principal = resolvePrincipal(world, spec, now);
  if (!principal) return DENY;
  const d = decideOffline(world, principal, column.request, context, now);
  if (!d.set || !d.request) return DENY;
  const conditioned = conditionedStatements(world.written, d.set, d.request);
  const cell = (access: Access, keys: readonly string[]): Cell => {
    const byName = new Map([...keys, ...conditioned.keys].map((k) => [k.toLowerCase(), k] as const));
    return { access, keys: [...byName.values()].sort(), conditions: conditioned.statements };
  };
  if (d.decision === 'Allow') return cell('allow', []);
  const misses = d.decision === 'ImplicitDeny' ? (d.engine?.nearMisses ?? []) : [];
  if (misses.length === 0) return cell('deny', []);
  // A grant held back by its conditions is only conditional when nothing else (a boundary, a
  // session policy, a guardrail) would deny the request were the identity side to allow it.
  // Built field by field: a set's identity index (if it has one) stands for its identity policies.
  const { boundary, resource, scp, session } = d.set;
  const othersOnly: PolicySet = { identity: [ALLOW_ALL], ...(boundary ? { boundary } : {}), ...(resource ? { resource } : {}), ...(scp ? { scp } : {}), ...(session ? { session } : {}) };
  if (evaluate(othersOnly, d.request).decision !== 'Allow') return cell('deny', []);
  return cell('conditional', misses.flatMap((m) => m.failed.map((f) => keyOf(f.path))));
}
