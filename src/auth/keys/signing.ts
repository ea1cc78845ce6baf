// iamgate's own token signing keys. A key ring file holds private JWKs, each with the time from
// which it signs (`activeFrom`, epoch seconds); the newest active key signs and every key in the
// file verifies. Rotation adds a key that becomes active later (so every replica publishes and
// trusts it before any replica signs with it) and drops keys retired long enough ago that no
// token they signed can still be valid: old and new keys overlap.
import { importJWK, type CryptoKey, type JWK } from 'jose';
import { rename, stat, writeFile } from 'node:fs/promises';
import { makeFolder, readTextFile } from '../../config/index.js';
import { dirname } from 'node:path';
import { generatePrivateJwk, staticKeySource, type PrivateJwk } from './file.js';
import { publicJwk, type KeySource } from './jwk.js';

export interface SigningKeyEntry {
  readonly jwk: PrivateJwk;
  /** Epoch ms from which this key signs. */
  readonly activeFrom: number;
}

export interface Signer {
  readonly kid: string;
  readonly alg: string;
  readonly key: CryptoKey;
}

export interface SigningKeyRing {
  /** The key that signs now: the newest whose activation time has come (or the oldest when none has). */
  signer(): Signer;
  /** Every key of the ring, for verification. */
  verification(): KeySource;
  /** The public keys, as served at /.well-known/jwks.json. */
  publicJwks(): { keys: JWK[] };
}

interface RingFile {
  keys: Array<PrivateJwk & { activeFrom: number }>;
}

/** Builds a ring from entries (at least one), importing the private keys once. */
export async function createSigningKeyRing(entries: readonly SigningKeyEntry[], now: () => number = Date.now): Promise<SigningKeyRing> {
  if (entries.length === 0) throw new TypeError('a signing key ring needs at least one key');
  const sorted = [...entries].sort((a, b) => a.activeFrom - b.activeFrom);
  const signers = await Promise.all(
    sorted.map(async (e) => {
      const key = await importJWK(privateOnly(e.jwk), e.jwk.alg);
      if (key instanceof Uint8Array) throw new TypeError(`signing key ${e.jwk.kid} is symmetric`);
      return { signer: { kid: e.jwk.kid, alg: e.jwk.alg, key } satisfies Signer, activeFrom: e.activeFrom };
    }),
  );
  const publics = sorted.map((e) => publicJwk(e.jwk)).filter((k): k is JWK => k !== undefined);
  const source = staticKeySource(publics, now());
  return {
    signer() {
      const t = now();
      let chosen = signers[0]!;
      for (const s of signers) if (s.activeFrom <= t) chosen = s;
      return chosen.signer;
    },
    verification: () => source,
    publicJwks: () => ({ keys: publics.map((k) => ({ ...k, use: 'sig' })) }),
  };
}

function privateOnly(jwk: PrivateJwk): JWK {
  const out: Record<string, unknown> = {};
  for (const m of ['kty', 'crv', 'x', 'y', 'd', 'n', 'e', 'p', 'q', 'dp', 'dq', 'qi']) {
    const v = (jwk as Record<string, unknown>)[m];
    if (v !== undefined) out[m] = v;
  }
  return out as JWK;
}

async function readRingFile(path: string): Promise<SigningKeyEntry[]> {
  const parsed = JSON.parse(await readTextFile(path)) as Partial<RingFile>;
  if (!Array.isArray(parsed.keys)) throw new TypeError(`${path}: expected {"keys": [...]}`);
  return parsed.keys.map((k, i) => {
    if (typeof k.kid !== 'string' || typeof k.alg !== 'string' || typeof k.d !== 'string') {
      throw new TypeError(`${path}: keys[${i}] is not a private JWK with kid and alg`);
    }
    return { jwk: k, activeFrom: typeof k.activeFrom === 'number' ? k.activeFrom * 1000 : 0 };
  });
}

async function writeRingFile(path: string, entries: readonly SigningKeyEntry[]): Promise<void> {
  const body: RingFile = { keys: entries.map((e) => ({ ...e.jwk, activeFrom: Math.floor(e.activeFrom / 1000) })) };
  await makeFolder(dirname(path), 0o700);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, path);
}

/** Loads a ring file. */
export async function loadSigningKeyRing(path: string, now: () => number = Date.now): Promise<SigningKeyRing> {
  return createSigningKeyRing(await readRingFile(path), now);
}

/** Creates a ring file with one key when none exists (development); returns whether it created one. */
export async function ensureSigningKeyFile(path: string, alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<boolean> {
  try {
    await stat(path);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await writeRingFile(path, [{ jwk: await generatePrivateJwk(alg), activeFrom: 0 }]);
  return true;
}

export interface RotateOptions {
  readonly alg?: 'ES256' | 'EdDSA';
  readonly now?: number;
  /** Delay before the new key signs, ms: every replica must have reloaded the file by then (default 10 min). */
  readonly activateAfterMs?: number;
  /** How long a superseded key keeps verifying, ms: at least the longest token lifetime (default 36 h). */
  readonly retainMs?: number;
}

/** Adds a new key to a ring file and drops keys superseded more than `retainMs` ago. Returns the new kid. */
export async function rotateSigningKeyFile(path: string, options: RotateOptions = {}): Promise<string> {
  const now = options.now ?? Date.now();
  const retainMs = options.retainMs ?? 36 * 3600_000;
  const entries = (await readRingFile(path)).sort((a, b) => a.activeFrom - b.activeFrom);
  const kept = entries.filter((e, i) => {
    const successor = entries[i + 1];
    return !successor || successor.activeFrom > now || now - successor.activeFrom < retainMs;
  });
  const jwk = await generatePrivateJwk(options.alg ?? 'ES256');
  await writeRingFile(path, [...kept, { jwk, activeFrom: now + (options.activateAfterMs ?? 600_000) }]);
  return jwk.kid;
}

export interface ReloadingKeyRing extends SigningKeyRing {
  /** Re-reads the file when its modification time changed; keeps the current ring on errors. */
  reload(): Promise<void>;
  close(): void;
}

/**
 * A ring that follows its file: checked every `intervalMs` (default 30 s) so rotations reach every
 * replica without a restart. A broken file leaves the last good ring in place and is reported.
 */
export async function watchSigningKeyRing(
  path: string,
  options: { now?: () => number; intervalMs?: number; onError?: (err: unknown) => void } = {},
): Promise<ReloadingKeyRing> {
  const now = options.now ?? Date.now;
  let mtime = (await stat(path)).mtimeMs;
  let ring = await loadSigningKeyRing(path, now);
  const reload = async (): Promise<void> => {
    try {
      const m = (await stat(path)).mtimeMs;
      if (m === mtime) return;
      ring = await loadSigningKeyRing(path, now);
      mtime = m;
    } catch (err) {
      options.onError?.(err);
    }
  };
  const timer = setInterval(() => void reload(), options.intervalMs ?? 30_000);
  timer.unref();
  return {
    signer: () => ring.signer(),
    verification: () => ring.verification(),
    publicJwks: () => ring.publicJwks(),
    reload,
    close: () => clearInterval(timer),
  };
}
