// Signing keys for digest records (Ed25519 or ES256 through node:crypto), key ids as RFC 7638 JWK
// thumbprints, and reading the public keys `audit verify` trusts (PEM, JWK or JWKS).
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import type { PublishedKey } from './schema.js';

/** Signs digest records with one private key; `key` is what the chain publishes for verifiers. */
export interface AuditSigner {
  readonly key: PublishedKey;
  /** Base64url signature of the UTF-8 bytes of `data`. */
  sign(data: string): string;
}

function algOf(key: KeyObject): 'EdDSA' | 'ES256' {
  if (key.asymmetricKeyType === 'ed25519') return 'EdDSA';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new TypeError('audit signing key must be Ed25519 or EC P-256');
}

/** The public JWK members RFC 7638 hashes, in a plain record. */
function publicJwk(key: KeyObject): Record<string, string> {
  const jwk = key.export({ format: 'jwk' });
  const out: Record<string, string> = {};
  for (const name of ['crv', 'kty', 'x', 'y'] as const) {
    const value = jwk[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** Describes a public key as a chain publishes it: key id (JWK thumbprint), algorithm and JWK. */
export function publishedKeyOf(publicKey: KeyObject): PublishedKey {
  const alg = algOf(publicKey);
  const jwk = publicJwk(publicKey);
  const kid = createHash('sha256').update(canonicalJson(jwk)).digest('base64url');
  // Members in sorted order: records embed this object and serialise it as it is.
  return { alg, jwk, kid };
}

/** Creates the signer for a private Ed25519 or P-256 key (TypeError for any other key). */
export function createAuditSigner(privateKey: KeyObject): AuditSigner {
  if (privateKey.type !== 'private') throw new TypeError('audit signer needs a private key');
  const alg = algOf(privateKey);
  const key = publishedKeyOf(createPublicKey(privateKey));
  const options = alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : privateKey;
  const digestName = alg === 'ES256' ? 'sha256' : null;
  return {
    key,
    sign: (data) => sign(digestName, Buffer.from(data), options).toString('base64url'),
  };
}

/** Checks a base64url signature against a published key; false for any malformed input. */
export function verifyDigestSignature(key: PublishedKey, data: string, signature: string): boolean {
  try {
    const publicKey = createPublicKey({ key: { ...key.jwk }, format: 'jwk' });
    const digestName = key.alg === 'ES256' ? 'sha256' : null;
    const options = key.alg === 'ES256' ? { key: publicKey, dsaEncoding: 'ieee-p1363' as const } : publicKey;
    return verify(digestName, Buffer.from(data), options, Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

/**
 * Reads trusted public keys from a file's text: one or more PEM public keys, a JWK, or a JWKS
 * (`{"keys": [...]}`). Returns them by key id; throws TypeError when nothing usable is found.
 */
export function readPublicKeys(text: string): Map<string, PublishedKey> {
  const keys = new Map<string, PublishedKey>();
  const add = (key: KeyObject): void => {
    const published = publishedKeyOf(key.type === 'private' ? createPublicKey(key) : key);
    keys.set(published.kid, published);
  };
  const pems = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g);
  if (pems) {
    for (const pem of pems) add(createPublicKey(pem));
  } else {
    const parsed: unknown = JSON.parse(text);
    const list =
      parsed !== null && typeof parsed === 'object' && Array.isArray((parsed as { keys?: unknown }).keys)
        ? (parsed as { keys: unknown[] }).keys
        : [parsed];
    for (const jwk of list) {
      if (jwk === null || typeof jwk !== 'object') continue;
      add(createPublicKey({ key: jwk as Record<string, string>, format: 'jwk' }));
    }
  }
  if (keys.size === 0) throw new TypeError('no public key found (expected PEM, JWK or JWKS)');
  return keys;
}
