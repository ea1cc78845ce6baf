// Signs the identity assertion sent to the upstream with each allowed request: a compact JWS whose
// claims name the verified caller (sub = principal ARN, account, groups, tags, MFA, role session),
// the decision's request id (jti), the configured audience and a short lifetime.
//
// Speed: the claims that depend only on the caller are serialised once per verified principal (the
// authenticator reuses one Principal per cached token, so a WeakMap keeps them exactly as long as
// the principal lives) and the protected header once per key. Per request there remains the time
// and request id, one base64url encoding and one signature with node:crypto (Ed25519 by default,
// synchronous, tens of microseconds): the request id makes every assertion distinct, so a whole
// token cannot be cached without dropping it.
import { KeyObject, sign } from 'node:crypto';
import type { JWK } from 'jose';
import type { SigningKeyRing } from '../auth/index.js';
import type { Principal } from '../identity/index.js';

export interface AssertionIssuer {
  /** Lower-case header name the assertion travels in. */
  readonly header: string;
  /** A signed assertion for this principal and request. */
  issue(principal: Principal, requestId: string): string;
  /** The public keys that verify assertions, as a JWKS. */
  jwks(): { keys: JWK[] };
}

export interface AssertionIssuerOptions {
  readonly ring: Pick<SigningKeyRing, 'signer' | 'publicJwks'>;
  readonly header: string;
  readonly audience: string;
  readonly issuer: string;
  readonly ttlSeconds: number;
  readonly now?: () => number;
}

/** What a key signs with: the node:crypto key, the digest (none for EdDSA) and the encoded protected header. */
interface PreparedKey {
  readonly key: KeyObject;
  readonly digest: string | null;
  readonly header: string;
}

const TAG_PREFIX = 'aws:PrincipalTag/';

const b64url = (text: string): string => Buffer.from(text).toString('base64url');

/** The principal's tags, from its context keys. */
function tagsOf(principal: Principal): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(principal.context)) {
    if (key.startsWith(TAG_PREFIX) && typeof value === 'string') tags[key.slice(TAG_PREFIX.length)] = value;
  }
  return tags;
}

/** Creates the issuer; the ring's current key signs (rotations are picked up as the ring reloads). */
export function createAssertionIssuer(o: AssertionIssuerOptions): AssertionIssuer {
  const now = o.now ?? Date.now;
  const fixed = `"aud":${JSON.stringify(o.audience)},"iss":${JSON.stringify(o.issuer)}`;
  const claims = new WeakMap<Principal, string>();
  const keys = new Map<string, PreparedKey>();

  /** The caller's claims, serialised once per principal (without braces, to splice). */
  const callerClaims = (p: Principal): string => {
    let text = claims.get(p);
    if (text === undefined) {
      const body = {
        account: p.accountId,
        groups: p.groups ?? [],
        mfa: p.mfa,
        principalType: p.type,
        ...(p.sessionName === undefined ? {} : { session: p.sessionName }),
        ...(p.roleArn === undefined ? {} : { role: p.roleArn }),
        sub: p.arn,
        tags: tagsOf(p),
      };
      text = `${fixed},${JSON.stringify(body).slice(1, -1)}`;
      claims.set(p, text);
    }
    return text;
  };

  const prepared = (): PreparedKey => {
    const signer = o.ring.signer();
    let key = keys.get(signer.kid);
    if (key === undefined) {
      key = {
        key: KeyObject.from(signer.key),
        digest: signer.alg === 'EdDSA' ? null : 'sha256',
        header: b64url(JSON.stringify({ alg: signer.alg, kid: signer.kid, typ: 'JWT' })),
      };
      keys.set(signer.kid, key);
    }
    return key;
  };

  return {
    header: o.header,
    issue(principal, requestId) {
      const key = prepared();
      const iat = Math.floor(now() / 1000);
      const payload = `{"exp":${iat + o.ttlSeconds},"iat":${iat},"jti":${JSON.stringify(requestId)},${callerClaims(principal)}}`;
      const input = `${key.header}.${b64url(payload)}`;
      const signature = sign(key.digest, Buffer.from(input), { key: key.key, dsaEncoding: 'ieee-p1363' });
      return `${input}.${signature.toString('base64url')}`;
    },
    jwks: () => o.ring.publicJwks(),
  };
}
