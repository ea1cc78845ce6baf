// Verification keys read from a file (a JWK or a JWK Set; private members are ignored), and the
// development issuer's key pair, generated on first use with exclusive creation so that two
// processes starting together agree on one key.
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { makeFolder, readTextFile, writeNewFile } from '../../config/index.js';
import { dirname } from 'node:path';
import { KeyTable, parseJwkSet, type KeySource } from './jwk.js';

/** Loads a KeySource from a JWK or JWKS file; throws when the file holds no usable asymmetric key. */
export async function loadKeyFile(path: string, now: () => number = Date.now): Promise<KeySource> {
  const keys = parseJwkSet(JSON.parse(await readTextFile(path)));
  if (keys.length === 0) throw new TypeError(`${path}: no usable asymmetric public key`);
  return staticKeySource(keys, now());
}

/** A KeySource over a fixed list of public JWKs. */
export function staticKeySource(keys: readonly JWK[], loadedAt: number): KeySource {
  const table = new KeyTable(keys);
  return {
    async getKey(kid, alg) {
      const found = await table.find(kid, alg);
      return found
        ? { ok: true, ...found }
        : { ok: false, code: 'token_key_unknown', detail: `no key ${kid ?? '(without kid)'} suits ${alg}` };
    },
    has: (id) => table.holds(id),
    status: () => ({ ready: true, keys: table.size, lastSuccessAt: loadedAt }),
  };
}

/** A private JWK with its `kid` and `alg`, as stored for the development issuer. */
export type PrivateJwk = JWK & { kid: string; alg: string; d: string };

function isPrivateJwk(v: unknown): v is PrivateJwk {
  if (!v || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o['kid'] === 'string' && typeof o['alg'] === 'string' && typeof o['d'] === 'string';
}

/** Generates a fresh private JWK (ES256 by default) with a random `kid`. */
export async function generatePrivateJwk(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: randomUUID(), alg } as PrivateJwk;
}

/**
 * Reads the development issuer's private key, generating it first when the file does not exist
 * (mode 0600, in a 0700 directory). Never use this for production keys.
 */
export async function ensureDevKey(path: string): Promise<PrivateJwk> {
  try {
    return await readPrivateJwk(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await makeFolder(dirname(path), 0o700);
  const jwk = await generatePrivateJwk('ES256');
  // Another process may have created it first: then its key, whole, is the one.
  if (await writeNewFile(path, JSON.stringify(jwk, null, 2) + '\n', 0o600)) return jwk;
  return readPrivateJwk(path);
}

async function readPrivateJwk(path: string): Promise<PrivateJwk> {
  const parsed: unknown = JSON.parse(await readTextFile(path));
  if (!isPrivateJwk(parsed)) throw new TypeError(`${path}: expected a private JWK with kid and alg`);
  return parsed;
}
