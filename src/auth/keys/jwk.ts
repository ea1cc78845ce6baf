// Public verification keys by `kid`: which JWKs suit which algorithm, and their imported form,
// imported once per (kid, alg). Only asymmetric keys are ever accepted, so an HMAC algorithm can
// never be verified with a public key as its secret.
import { importJWK, type CryptoKey, type JWK } from 'jose';

export { ASYMMETRIC_ALGORITHMS, isAsymmetricAlgorithm, type AsymmetricAlgorithm } from './algorithms.js';

/** The key type (and curve) an algorithm needs. */
function suits(jwk: JWK, alg: string): boolean {
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  switch (alg) {
    case 'RS256':
    case 'RS384':
    case 'RS512':
    case 'PS256':
    case 'PS384':
    case 'PS512':
      return jwk.kty === 'RSA';
    case 'ES256':
      return jwk.kty === 'EC' && jwk.crv === 'P-256';
    case 'ES384':
      return jwk.kty === 'EC' && jwk.crv === 'P-384';
    case 'ES512':
      return jwk.kty === 'EC' && jwk.crv === 'P-521';
    case 'EdDSA':
    case 'Ed25519':
      return jwk.kty === 'OKP' && jwk.crv === 'Ed25519';
    default:
      return false;
  }
}

/** Each key type's public members; a Map, so a `kty` such as `constructor` finds nothing. */
const PUBLIC_MEMBERS: ReadonlyMap<string, readonly string[]> = new Map([
  ['RSA', ['n', 'e']],
  ['EC', ['crv', 'x', 'y']],
  ['OKP', ['crv', 'x']],
]);

/**
 * The public part of an asymmetric JWK (private members dropped), or undefined for symmetric,
 * unknown or incomplete keys.
 */
export function publicJwk(input: unknown): JWK | undefined {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return undefined;
  const src = input as Record<string, unknown>;
  const kty = src['kty'];
  if (typeof kty !== 'string') return undefined;
  const members = PUBLIC_MEMBERS.get(kty);
  if (!members) return undefined;
  const out: Record<string, string> = { kty };
  for (const m of [...members, 'kid', 'alg', 'use']) {
    const v = src[m];
    if (typeof v === 'string') out[m] = v;
    else if (members.includes(m)) return undefined;
  }
  return out as JWK;
}

export type KeyLookup =
  | { readonly ok: true; readonly key: CryptoKey; readonly id: string }
  | { readonly ok: false; readonly code: 'token_key_unknown' | 'key_unavailable'; readonly detail: string };

/** A source of verification keys for one issuer. */
export interface KeySource {
  /** The key for a token's `kid` and `alg`; without a `kid`, the only key suiting `alg`. */
  getKey(kid: string | undefined, alg: string): Promise<KeyLookup>;
  /**
   * Whether the key a lookup answered with `id` is still trusted (cheap, synchronous): cached
   * verifications re-check it. By the key's id, not the token's `kid`: a token without one was
   * verified by one particular key, which a provider may replace by another.
   */
  has(id: string): boolean;
  status(): KeySourceStatus;
}

export interface KeySourceStatus {
  /** True once keys have been loaded at least once. */
  readonly ready: boolean;
  readonly keys: number;
  readonly lastSuccessAt?: number;
  readonly lastError?: string;
}

/**
 * The id of a key published without a `kid`: its public members, so the same key keeps its id
 * across refreshes and another key never has it. A NUL first, which no `kid` a token names holds
 * in practice; ids are only compared with ids this module made.
 */
function anonymousId(jwk: JWK): string {
  return ['', jwk.kty, jwk.crv, jwk.n, jwk.e, jwk.x, jwk.y].map((v) => v ?? '').join('\u0000');
}

/** A key found for a token, with the id KeySource.has knows it by. */
export interface FoundKey {
  readonly key: CryptoKey;
  readonly id: string;
}

/** An immutable set of public keys, importing each (kid, alg) once. */
export class KeyTable {
  readonly #byKid = new Map<string, JWK>();
  readonly #anonymous = new Map<string, JWK>();
  readonly #imported = new Map<string, Promise<CryptoKey | undefined>>();

  constructor(jwks: readonly JWK[]) {
    for (const jwk of jwks) {
      if (jwk.kid === undefined) this.#anonymous.set(anonymousId(jwk), jwk);
      else if (!this.#byKid.has(jwk.kid)) this.#byKid.set(jwk.kid, jwk);
    }
  }

  get size(): number {
    return this.#byKid.size + this.#anonymous.size;
  }

  /** Whether a key has this `kid` (undefined: whether there is any key). */
  has(kid: string | undefined): boolean {
    return kid === undefined ? this.size > 0 : this.#byKid.has(kid);
  }

  /** Whether the key `find` answered with this id is still in the table. */
  holds(id: string): boolean {
    return this.#byKid.has(id) || this.#anonymous.has(id);
  }

  kids(): IterableIterator<string> {
    return this.#byKid.keys();
  }

  jwks(): JWK[] {
    return [...this.#byKid.values(), ...this.#anonymous.values()];
  }

  /** The key for (kid, alg) and its id, or undefined when no key with that kid suits alg. */
  async find(kid: string | undefined, alg: string): Promise<FoundKey | undefined> {
    let jwk: JWK | undefined;
    if (kid !== undefined) {
      jwk = this.#byKid.get(kid);
    } else {
      const candidates = this.jwks().filter((k) => suits(k, alg));
      if (candidates.length === 1) jwk = candidates[0];
    }
    if (!jwk || !suits(jwk, alg)) return undefined;
    const id = jwk.kid ?? anonymousId(jwk);
    const cacheKey = `${id}\u0000${alg}`;
    let imported = this.#imported.get(cacheKey);
    if (!imported) {
      const key = jwk;
      imported = importJWK(key, alg).then(
        (k) => (k instanceof Uint8Array ? undefined : k),
        () => undefined,
      );
      this.#imported.set(cacheKey, imported);
    }
    const key = await imported;
    return key ? { key, id } : undefined;
  }
}

/** Reads the `keys` of a JWK Set, or a single JWK, keeping the public part of asymmetric keys. */
export function parseJwkSet(doc: unknown): JWK[] {
  if (!doc || typeof doc !== 'object') return [];
  const keys = (doc as { keys?: unknown }).keys;
  const list: unknown[] = Array.isArray(keys) ? keys : [doc];
  const out: JWK[] = [];
  for (const k of list) {
    const pub = publicJwk(k);
    if (pub) out.push(pub);
  }
  return out;
}
