// Compiles a checked directory model into the immutable Directory the request path reads: every
// policy compiled once, every user's and role's policy set assembled once with its fingerprint.
import { parsePolicy, type CompiledPolicy, type Json, type ParsedPolicy } from '../policy/index.js';
import type { DirectoryModel, InlineDocument } from './document.js';
import { buildPolicySet, canonicalJson, compileRef, sha256 } from './fingerprint.js';
import { iamArn, uniqueId, type AccountScope } from './names.js';
import type { Directory, DirectoryGroup, DirectoryRole, DirectoryUser, ManagedPolicy, PolicyRef } from './types.js';

/** A managed policy's document as the loader found it. */
export interface ManagedDocument {
  readonly document: unknown;
  readonly parsed: ParsedPolicy;
  readonly file?: string;
}

/**
 * The policy added to users marked `mfaRequired`: every action except enrolling a device and
 * getting an MFA session is denied while no second factor was presented (AWS's well-known "force
 * MFA" pattern, whose NotAction lists iam:CreateVirtualMFADevice and iam:EnableMFADevice too).
 * Enrolment still needs a policy that allows it: this only leaves it undenied.
 */
export const MFA_REQUIRED_POLICY: Json = {
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'DenyAllWithoutMfa',
      Effect: 'Deny',
      NotAction: ['sts:GetSessionToken', 'iamgate:EnrollMfa', 'iamgate:ConfirmMfa'],
      Resource: '*',
      Condition: { BoolIfExists: { 'aws:MultiFactorAuthPresent': 'false' } },
    },
  ],
};
export const MFA_REQUIRED_POLICY_NAME = 'iamgate/MfaRequired';

function compileMfaRequired(): PolicyRef {
  const { policy } = parsePolicy(MFA_REQUIRED_POLICY, { kind: 'identity' });
  if (!policy) throw new TypeError('the built-in MfaRequired policy does not parse');
  return compileRef(policy, MFA_REQUIRED_POLICY, MFA_REQUIRED_POLICY_NAME, 'identity');
}

function inlineRefs(owner: string, docs: readonly InlineDocument[]): PolicyRef[] {
  return docs.flatMap((d) => (d.parsed ? [compileRef(d.parsed, d.document, `${owner}/${d.name}`, 'identity')] : []));
}

/** Builds the Directory; `managed` holds the document of every managed policy of the model. */
export function buildDirectory(model: DirectoryModel, managed: ReadonlyMap<string, ManagedDocument>, file?: string): Directory {
  const scope: AccountScope = { partition: model.partition, account: model.account };

  const policies = new Map<string, ManagedPolicy>();
  for (const p of model.policies) {
    const doc = managed.get(p.name);
    if (!doc) throw new TypeError(`managed policy ${p.name} has no document`);
    policies.set(p.name, {
      name: p.name,
      arn: iamArn(scope, 'policy', p.path, p.name),
      document: doc.document as Json,
      ref: compileRef(doc.parsed, doc.document, p.name, 'identity'),
      ...(doc.file !== undefined ? { file: doc.file } : {}),
    });
  }
  const attached = (names: readonly string[]): PolicyRef[] => names.map((n) => policies.get(n)!.ref);
  const boundaryOf = (name: string | undefined): PolicyRef | undefined => {
    if (name === undefined) return undefined;
    return compileRef(managed.get(name)!.parsed, policies.get(name)!.document, name, 'boundary');
  };

  const groups = new Map<string, DirectoryGroup>();
  for (const g of model.groups) {
    groups.set(g.name, {
      name: g.name,
      path: g.path,
      arn: iamArn(scope, 'group', g.path, g.name),
      policies: [...inlineRefs(`group/${g.name}`, g.inline), ...attached(g.policies)],
    });
  }

  const mfaRequiredPolicy = compileMfaRequired();
  // One merged index per distinct list of identity policies, shared by the principals that have it.
  const indexes = new Map<string, CompiledPolicy>();
  const users = new Map<string, DirectoryUser>();
  for (const u of model.users) {
    const arn = iamArn(scope, 'user', u.path, u.name);
    const own = [...inlineRefs(`user/${u.name}`, u.inline), ...attached(u.policies)];
    const boundary = boundaryOf(u.boundary);
    const identity = [
      ...own,
      ...u.groups.flatMap((g) => groups.get(g)!.policies),
      ...(u.mfaRequired ? [mfaRequiredPolicy] : []),
    ];
    users.set(u.name, {
      name: u.name,
      path: u.path,
      arn,
      id: u.id ?? uniqueId('AIDA', arn),
      groups: u.groups,
      tags: u.tags,
      mfaRequired: u.mfaRequired,
      policies: own,
      ...(boundary ? { boundary } : {}),
      ...buildPolicySet({ identity, boundary }, indexes),
    });
  }

  const roles = new Map<string, DirectoryRole>();
  for (const r of model.roles) {
    const arn = iamArn(scope, 'role', r.path, r.name);
    const own = [...inlineRefs(`role/${r.name}`, r.inline), ...attached(r.policies)];
    const boundary = boundaryOf(r.boundary);
    if (!r.trust.parsed) throw new TypeError(`role ${r.name} has no valid trust policy`);
    roles.set(r.name, {
      name: r.name,
      path: r.path,
      arn,
      id: r.id ?? uniqueId('AROA', arn),
      trust: compileRef(r.trust.parsed, r.trust.document, `role/${r.name}/trust`, 'resource'),
      maxSessionSeconds: r.maxSessionSeconds,
      tags: r.tags,
      policies: own,
      ...(boundary ? { boundary } : {}),
      ...buildPolicySet({ identity: own, boundary }, indexes),
    });
  }

  const generation = sha256(
    canonicalJson({
      account: model.account,
      partition: model.partition,
      policies: [...policies.values()].map((p) => [p.name, p.arn, p.ref.digest]),
      groups: [...groups.values()].map((g) => [g.arn, g.policies.map((p) => p.digest)]),
      users: [...users.values()].map((u) => [u.arn, u.id, u.groups, u.tags, u.mfaRequired, u.fingerprint]),
      roles: [...roles.values()].map((r) => [r.arn, r.id, r.trust.digest, r.maxSessionSeconds, r.tags, r.fingerprint]),
    }),
  );

  return {
    account: model.account,
    partition: model.partition,
    ...(file !== undefined ? { file } : {}),
    users,
    groups,
    roles,
    policies,
    mfaRequiredPolicy,
    generation,
  };
}
