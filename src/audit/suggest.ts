// Least-privilege policy generation from a trail, as AWS's policy generation does from CloudTrail:
// the actions a principal was allowed, on the resources it used them on, grouped into statements,
// then validated by the policy engine.
import { parsePolicy, type Finding } from '../policy/index.js';
import type { TrailDecision } from './report.js';

export interface SuggestOptions {
  /** A role ARN also takes in its sessions (`assumed-role/NAME/...`). */
  readonly principal: string;
  /** Above this many resources for one action, they are merged into one wildcard (default 20). */
  readonly maxResources?: number;
}

export interface PolicyStatementDoc {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string | string[];
  readonly Resource: string | string[];
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatementDoc[];
}

export interface Suggestion {
  /** Undefined when the principal was never allowed anything in the trail. */
  readonly policy: PolicyDocument | undefined;
  /** The engine's findings on the generated document. */
  readonly findings: Finding[];
  /** Allowed requests the suggestion is built from. */
  readonly requests: number;
  /** Actions whose resources were merged into a wildcard. */
  readonly generalised: string[];
}

/** Whether a decision's principal is the one asked for (or a session of that role). */
export function principalMatcher(arn: string): (candidate: string) => boolean {
  const role = /^arn:([^:]+):iam::(\d*):role\/(?:.*\/)?([^/]+)$/.exec(arn);
  if (!role) return (candidate) => candidate === arn;
  const sessions = `arn:${role[1]}:sts::${role[2]}:assumed-role/${role[3]}/`;
  return (candidate) => candidate === arn || candidate.startsWith(sessions);
}

/** The longest common prefix of ARNs, cut back to a `/` or `:` boundary, plus `*`. */
function wildcardOf(resources: readonly string[]): string {
  let prefix = resources[0] ?? '';
  for (const r of resources) {
    let i = 0;
    while (i < prefix.length && i < r.length && prefix[i] === r[i]) i++;
    prefix = prefix.slice(0, i);
  }
  const cut = Math.max(prefix.lastIndexOf('/'), prefix.lastIndexOf(':'));
  return cut === -1 ? '*' : `${prefix.slice(0, cut + 1)}*`;
}

const one = (values: string[]): string | string[] => (values.length === 1 ? (values[0] as string) : values);

/** Builds a least-privilege identity policy from the principal's allowed requests, and validates it. */
export async function suggestPolicy(decisions: AsyncIterable<TrailDecision>, options: SuggestOptions): Promise<Suggestion> {
  const matches = principalMatcher(options.principal);
  const maxResources = options.maxResources ?? 20;
  const byAction = new Map<string, Set<string>>();
  let requests = 0;
  for await (const d of decisions) {
    if (!d.allowed || !matches(d.principal)) continue;
    requests++;
    const resources = byAction.get(d.action) ?? new Set<string>();
    resources.add(d.resource);
    byAction.set(d.action, resources);
  }
  if (requests === 0) return { policy: undefined, findings: [], requests, generalised: [] };

  // Actions used on the same resources share a statement.
  const generalised: string[] = [];
  const groups = new Map<string, { resources: string[]; actions: string[] }>();
  for (const [action, set] of [...byAction].sort(([a], [b]) => a.localeCompare(b))) {
    let resources = [...set].sort();
    if (resources.includes('*')) resources = ['*'];
    else if (resources.length > maxResources) {
      resources = [wildcardOf(resources)];
      generalised.push(action);
    }
    const key = resources.join('\n');
    const group = groups.get(key) ?? { resources, actions: [] };
    group.actions.push(action);
    groups.set(key, group);
  }
  const policy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [...groups.values()].map((g, i) => ({
      Sid: `Used${i + 1}`,
      Effect: 'Allow',
      Action: one(g.actions),
      Resource: one(g.resources),
    })),
  };
  const { findings } = parsePolicy(JSON.stringify(policy), { kind: 'identity' });
  return { policy, findings, requests, generalised };
}
