// Tokens from a local development key: how the quick start and the tests call the gateway as
// alice or bob. The key is generated on first use outside policies/ and is only ever trusted by
// configurations marked `mode: development`.
import { importJWK, SignJWT, type JWTPayload } from 'jose';
import { randomUUID } from 'node:crypto';
import type { IssuerConfig } from './config.js';
import { ensureDevKey } from './keys/file.js';

export interface DevTokenOptions {
  /** The development issuer (an `auth.issuers` entry with `developmentKey: true`). */
  readonly issuer: IssuerConfig;
  /** Its key file, resolved. */
  readonly keyFile: string;
  readonly user: string;
  readonly mfa: boolean;
  readonly ttlSeconds: number;
  readonly groups?: readonly string[];
  readonly now: number;
}

/** Signs a token for `user` with the development key (creating the key first if needed). */
export async function mintDevelopmentToken(o: DevTokenOptions): Promise<string> {
  const jwk = await ensureDevKey(o.keyFile);
  const { kid, alg, ...material } = jwk;
  const key = await importJWK(material, alg);
  const iat = Math.floor(o.now / 1000);
  const claims: JWTPayload = {
    [o.issuer.claims.user]: o.user,
    amr: o.mfa ? ['pwd', 'mfa'] : ['pwd'],
    auth_time: iat,
    ...(o.groups && o.issuer.claims.groups !== undefined ? { [o.issuer.claims.groups]: [...o.groups] } : {}),
  };
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setIssuer(o.issuer.issuer)
    .setAudience(o.issuer.audiences[0] ?? 'iamgate')
    .setSubject(o.user)
    .setIssuedAt(iat)
    .setExpirationTime(iat + o.ttlSeconds)
    .setJti(randomUUID())
    .sign(key);
}
