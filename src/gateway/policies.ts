// Loading what decisions are made against: the directory (users, groups, roles, policies), the
// route map, and an authenticator built over that directory — all validated and compiled before
// anything is swapped in. Every problem of every file is reported together.
import { createHash } from 'node:crypto';
import { readlinkSync, realpathSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { locatePolicyFiles } from '../config/index.js';
import { createPrincipalResolver, loadDirectory, type Directory, type Principal, type PrincipalResolver } from '../identity/index.js';
import type { Finding } from '../policy/index.js';
import type { Authenticator } from './auth.js';
import { loadRouteMap } from './routes/index.js';
import type { PolicyLoader } from './server.js';
import { createShadowPolicies, type ShadowPolicies } from './shadow.js';

const shadowDirectoryFile = (folder: string): string => locatePolicyFiles(folder).directory;

export interface PolicyFiles {
  readonly directory: string;
  readonly routes: string;
  /** A candidate policy folder for shadow evaluation. */
  readonly shadow?: string;
}

/** Builds the authenticator for a freshly loaded directory (verifying tokens, resolving principals). */
export type AuthenticatorFactory = (directory: Directory, resolver: PrincipalResolver) => Authenticator | Promise<Authenticator>;

const OPERATOR_ISSUER = 'iamgate:operator';
const SIMULATION_SESSION = 'operator-simulation';

/** The token facts of a caller iamgate stands in for (simulations, policy tests): issued now, valid an hour. */
export function syntheticTokenFacts(issuer: string, method: string, mfa: boolean, now: number) {
  return {
    issuer,
    issuedAt: now,
    expiresAt: now + 3_600_000,
    mfa,
    ...(mfa ? { mfaAt: now } : {}),
    authMethods: mfa ? [method, 'mfa'] : [method],
  };
}

/** A directory principal by ARN (a user, or a role as a simulated session), for operator simulations. */
export function simulatedPrincipal(resolver: PrincipalResolver, arn: string, mfa: boolean, now: number): Principal | undefined {
  const dir = resolver.directory;
  const facts = syntheticTokenFacts(OPERATOR_ISSUER, 'operator', mfa, now);
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

/**
 * Loads the shadow folder's directory. Its problems are errors of the load like any other (a
 * candidate that does not load is refused, and the previous policies keep serving on reload).
 */
async function loadShadow(folder: string | undefined): Promise<{ directory?: Directory; findings: readonly Finding[] }> {
  if (folder === undefined) return { findings: [] };
  return loadDirectory(shadowDirectoryFile(folder));
}

/** `path` with every symbolic link resolved, or `path` itself when it cannot be (its read then says why). */
function resolvedNow(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The kubelet's link of a mounted ConfigMap file (`name -> ..data/name`), or undefined for any other file. */
function configMapLink(path: string): string | undefined {
  try {
    const target = readlinkSync(path);
    return target.startsWith('..data/') ? target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resolves every file's links, again until the files that a ConfigMap mounts in one folder resolve
 * to one version of it: the kubelet may switch `..data` between two resolutions. Undefined when
 * they never agree (the load is refused, the policies serving stay).
 */
function resolveTogether(paths: readonly string[]): string[] | undefined {
  for (let attempt = 0; attempt < 10; attempt++) {
    const real = paths.map(resolvedNow);
    const versionOf = new Map<string, string>();
    let agree = true;
    for (let i = 0; i < paths.length && agree; i++) {
      if (configMapLink(paths[i]!) === undefined) continue;
      const folder = dirname(resolve(paths[i]!));
      const version = dirname(real[i]!);
      agree = (versionOf.get(folder) ?? version) === version;
      versionOf.set(folder, version);
    }
    if (agree) return real;
  }
  return undefined;
}

/** Creates the loader the gateway calls at start and on every reload. */
export function createPolicyLoader(files: PolicyFiles, authenticator: AuthenticatorFactory): PolicyLoader {
  return async () => {
    // A ConfigMap update switches a `..data` link to a whole new folder, possibly between two of
    // this load's reads. Every link is resolved first, to one version, so the directory, the policy
    // files it names (relative to it) and the routes all come from that version.
    // The shadow folder too: a candidate mounted beside the live set is judged against that set.
    const together = resolveTogether([files.directory, files.routes, ...(files.shadow !== undefined ? [files.shadow] : [])]);
    if (!together) {
      const finding = { severity: 'error' as const, code: 'FILE_UNREADABLE', path: '', message: 'the mounted ConfigMap kept switching versions while its files were resolved', file: files.directory };
      return { ok: false, findings: [finding], files: [files.directory, files.routes, ...(files.shadow !== undefined ? [shadowDirectoryFile(files.shadow)] : [])] };
    }
    const [directoryFile, routesFile, shadowFolder] = together as [string, string, string | undefined];
    const [dir, routes, shadow] = await Promise.all([loadDirectory(directoryFile), loadRouteMap(routesFile), loadShadow(shadowFolder)]);
    const findings = [...dir.findings, ...routes.findings, ...shadow.findings];
    const named = [files.directory, files.routes, ...(files.shadow !== undefined ? [shadowDirectoryFile(files.shadow)] : [])];
    if (!dir.directory || !routes.routes || (files.shadow !== undefined && !shadow.directory)) return { ok: false, findings, files: [...named, ...findings.flatMap((f) => (f.file === undefined ? [] : [f.file]))] };
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
        resolver,
        principalFor: (arn, mfa, now) => simulatedPrincipal(resolver, arn, mfa, now),
        ...(shadow.directory && shadowFolder !== undefined ? { shadow: createShadowPolicies(shadow.directory, directory, shadowFolder) } : {}),
      },
    };
  };
}
