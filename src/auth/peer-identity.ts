// Workload identity from a service mesh: the SPIFFE ID a trusted Envoy reports for the peer that
// called it (`spiffe://cluster.local/ns/NS/sa/SA`) stands for the Kubernetes service account
// `system:serviceaccount:NS:SA`, and becomes a role exactly as that account's token would (the
// issuer's `webIdentity` roles, tried in order against their trust policies).
import type { PrincipalResolver } from '../identity/index.js';
import { workloadPrincipal, type PrincipalOutcome } from './claims.js';
import { webIdentityProvider, type IssuerConfig, type WebIdentityMapping } from './config.js';
import { authFailure } from './errors.js';

/** Resolves a peer's SPIFFE ID to a principal at `now`; never throws for bad input. */
export type PeerAuthenticator = (spiffeId: string, now: number) => PrincipalOutcome;

export interface PeerIdentityOptions {
  /** The workload issuer whose roles and trust policies map service accounts (it has `webIdentity`). */
  readonly issuer: IssuerConfig & { readonly webIdentity: WebIdentityMapping };
  /** The mesh's SPIFFE trust domain (Istio: `cluster.local`); IDs of any other domain are refused. */
  readonly trustDomain: string;
  readonly resolver: () => PrincipalResolver;
}

/** A Kubernetes namespace or service-account name (DNS label or subdomain). */
const K8S_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/** `spiffe://DOMAIN/ns/NS/sa/SA` → `system:serviceaccount:NS:SA`, or undefined for any other shape. */
export function serviceAccountOf(spiffeId: string, prefix: string): string | undefined {
  if (!spiffeId.startsWith(prefix)) return undefined;
  const parts = spiffeId.slice(prefix.length).split('/');
  if (parts.length !== 4 || parts[0] !== 'ns' || parts[2] !== 'sa') return undefined;
  const ns = parts[1]!;
  const sa = parts[3]!;
  return K8S_NAME.test(ns) && K8S_NAME.test(sa) ? `system:serviceaccount:${ns}:${sa}` : undefined;
}

/** Creates the peer authenticator; the issuer's audiences stand for the `aud` a token would carry. */
export function createPeerAuthenticator(options: PeerIdentityOptions): PeerAuthenticator {
  const { issuer, resolver } = options;
  const prefix = `spiffe://${options.trustDomain}/`;
  const aud = [...issuer.audiences];
  const authMethods = ['spiffe'];
  return (spiffeId, now) => {
    const sub = serviceAccountOf(spiffeId, prefix);
    if (sub === undefined) return authFailure('principal_unknown', 'the peer is not a service account of the trust domain');
    const r = resolver();
    const wi = { provider: webIdentityProvider(issuer.webIdentity, r.directory), keyPrefix: issuer.webIdentity.keyPrefix, sub, aud };
    return workloadPrincipal(issuer.webIdentity, wi, r, { issuer: issuer.issuer, issuedAt: now, expiresAt: now, authMethods }, now);
  };
}
