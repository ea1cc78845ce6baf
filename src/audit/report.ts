// Access reports from a trail, as AWS's access advisor gives them: for each principal and action,
// when it was last allowed; and which granted permissions (Allow statements) no allowed request
// used within the period.
import { compileWildcard, statementLabel, type CompiledPolicy } from '../policy/index.js';
import type { AuditRecord } from './schema.js';
import { firstReadings, readRecord } from './read.js';
import { DECISION_KINDS } from './schema.js';
import type { TrailEntry } from './trail.js';

/** A decision read back from the trail, with what the reports need. */
export interface TrailDecision {
  readonly time: number;
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly allowed: boolean;
}

const DECISIONS: ReadonlySet<string> = new Set(DECISION_KINDS);

/** Reads the decisions of a trail (events with a principal and an action) at or after `since` (epoch ms), each once. */
export async function* readDecisions(entries: AsyncIterable<TrailEntry> | Iterable<TrailEntry>, since = 0): AsyncGenerator<TrailDecision> {
  const firstTime = firstReadings();
  for await (const entry of entries) {
    const read = readRecord(entry.text);
    if (read === undefined || !firstTime(read)) continue;
    const record: Partial<AuditRecord> = read;
    if (!DECISIONS.has(record.kind ?? '')) continue;
    const principal = record.principal?.arn;
    const time = typeof record.time === 'string' ? Date.parse(record.time) : NaN;
    if (!principal || typeof record.action !== 'string' || !(time >= since)) continue;
    yield {
      time,
      principal,
      action: record.action,
      resource: typeof record.resource === 'string' ? record.resource : '*',
      allowed: record.decision === 'Allow',
    };
  }
}

/** One principal and action: how often it was allowed and denied, and when last. */
export interface ActionUse {
  readonly principal: string;
  readonly action: string;
  readonly allowed: number;
  readonly denied: number;
  /** ISO time of the last allowed request, when there was one. */
  readonly lastAllowed?: string;
  readonly lastDenied?: string;
}

/** Summarises decisions per principal and action, sorted by principal, then action. */
export async function lastAccessed(decisions: AsyncIterable<TrailDecision>): Promise<ActionUse[]> {
  const uses = new Map<string, { principal: string; action: string; allowed: number; denied: number; lastAllowed: number; lastDenied: number }>();
  for await (const d of decisions) {
    const key = `${d.principal}\n${d.action}`;
    let use = uses.get(key);
    if (!use) {
      use = { principal: d.principal, action: d.action, allowed: 0, denied: 0, lastAllowed: 0, lastDenied: 0 };
      uses.set(key, use);
    }
    if (d.allowed) {
      use.allowed++;
      use.lastAllowed = Math.max(use.lastAllowed, d.time);
    } else {
      use.denied++;
      use.lastDenied = Math.max(use.lastDenied, d.time);
    }
  }
  return [...uses.values()]
    .sort((a, b) => a.principal.localeCompare(b.principal) || a.action.localeCompare(b.action))
    .map((u) => ({
      principal: u.principal,
      action: u.action,
      allowed: u.allowed,
      denied: u.denied,
      ...(u.allowed > 0 ? { lastAllowed: new Date(u.lastAllowed).toISOString() } : {}),
      ...(u.denied > 0 ? { lastDenied: new Date(u.lastDenied).toISOString() } : {}),
    }));
}

/** What a principal is granted: its identity policies, compiled. */
export interface PrincipalGrants {
  readonly arn: string;
  /** ARNs whose decisions count as this principal's (an assumed role's sessions, say). */
  readonly matches: (principalArn: string) => boolean;
  readonly policies: readonly CompiledPolicy[];
  /** The Action list of a statement (not NotAction), when the policy document is at hand. */
  readonly actionsOf?: (policy: string, index: number) => readonly string[] | undefined;
}

/** Granted access that no allowed request of the principal used within the period. */
export interface UnusedAccess {
  readonly principal: string;
  readonly policy: string;
  /** `Policy:Sid` or `Policy:Statement[i]`. */
  readonly statement: string;
  /** True when nothing the statement grants was used. */
  readonly wholeStatement: boolean;
  /** The statement's Action entries no allowed request matched (when its document is at hand). */
  readonly actions?: readonly string[];
}

/**
 * Lists, per principal, the Allow statements, and the Action entries within them, that no allowed
 * request matched: a statement counts as used when any allowed action of the principal matches
 * its Action (or NotAction); an Action entry (a wildcard pattern) when any allowed action matches it.
 */
export function unusedPermissions(uses: readonly ActionUse[], grants: readonly PrincipalGrants[]): UnusedAccess[] {
  const unused: UnusedAccess[] = [];
  for (const grant of grants) {
    const used = uses.filter((u) => u.allowed > 0 && grant.matches(u.principal)).map((u) => u.action);
    for (const policy of grant.policies) {
      for (const statement of policy.statements) {
        if (statement.deny) continue;
        const wholeStatement = !used.some((action) => statement.matchesAction(action.toLowerCase()));
        const patterns = grant.actionsOf?.(statement.ref.policy, statement.ref.index);
        const idle = patterns?.filter((p) => {
          const matches = compileWildcard(p, true);
          return !used.some((action) => matches(action));
        });
        if (!wholeStatement && !idle?.length) continue;
        unused.push({
          principal: grant.arn,
          policy: statement.ref.policy,
          statement: statementLabel(statement.ref),
          wholeStatement,
          ...(idle ? { actions: idle } : {}),
        });
      }
    }
  }
  return unused;
}
