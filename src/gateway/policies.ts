// Loading what decisions are made against: the directory (users, groups, roles, policies), the
// route map, and an authenticator built over that directory — all validated and compiled before
// anything is swapped in. Every problem of every file is reported together.
import { createHash } from 'node:crypto';
import { createPrincipalResolver, loadDirectory, type Directory, type Principal, type PrincipalResolver } from '../identity/index.js';
import type { Authenticator } from './auth.js';
import { loadRouteMap } from './routes/index.js';
import type { PolicyLoader } from './server.js';

export interface PolicyFiles {
  readonly directory: string;
  readonly routes: string;
}

/** Builds the authenticator for a freshly loaded directory (verifying tokens, resolving principals). */
export type AuthenticatorFactory = (directory: Directory, resolver: PrincipalResolver) => Authenticator | Promise<Authenticator>;

const OPERATOR_ISSUER = 'iamgate:operator';
const SIMULATION_SESSION = 'operator-simulation';

/** A directory principal by ARN (a user, or a role as a simulated session), for operator simulations. */
export function simulatedPrincipal(resolver: PrincipalResolver, arn: string, mfa: boolean, now: number): Principal | undefined {
  const dir = resolver.directory;
  const facts = {
    issuer: OPERATOR_ISSUER,
    issuedAt: now,
    expiresAt: now + 3_600_000,
    mfa,
    ...(mfa ? { mfaAt: now } : {}),
    authMethods: mfa ? ['operator', 'mfa'] : ['operator'],
  };
  for (const user of dir.users.values()) {
    if (user.arn !== arn) continue;
    const r = resolver.user({ ...facts, userName: user.name }, now);
    return r.ok ? r.principal : undefined;
  }
  for (const role of dir.roles.values()) {
    if (role.arn !== arn) continue;
    const r = resolver.roleSession({ ...facts, roleName: role.name, sessionName: SIMULATION_SESSION, type: 'AssumedRole' }, now);
    return r.ok ? r.principal : undefined;
  }
  return undefined;
}

/** Creates the loader the gateway calls at start and on every reload. */
export function createPolicyLoader(files: PolicyFiles, authenticator: AuthenticatorFactory): PolicyLoader {
  return async () => {
    const [dir, routes] = await Promise.all([loadDirectory(files.directory), loadRouteMap(files.routes)]);
    const findings = [...dir.findings, ...routes.findings];
    const named = [files.directory, files.routes];
    if (!dir.directory || !routes.routes) return { ok: false, findings, files: [...named, ...findings.flatMap((f) => (f.file === undefined ? [] : [f.file]))] };
    const directory = dir.directory;
    const resolver = createPrincipalResolver(directory);
    const digest = createHash('sha256').update(directory.generation).update('\0').update(routes.digest).digest('hex');
    return {
      ok: true,
      findings,
      files: [...named, ...[...directory.policies.values()].flatMap((p) => (p.file === undefined ? [] : [p.file]))],
      snapshot: {
        routes: routes.routes,
        authenticator: await authenticator(directory, resolver),
        digest,
        principalFor: (arn, mfa, now) => simulatedPrincipal(resolver, arn, mfa, now),
      },
    };
  };
}
