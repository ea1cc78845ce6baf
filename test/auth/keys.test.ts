// Key material: iamgate's signing key ring rotates with overlap (a new key is published before it
// signs, the old one keeps verifying) and is reloaded from its file without a restart; the
// development key is created once even by concurrent first uses; key files never yield symmetric
// or private key material to verification.
import { readFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuthenticator,
  ensureDevKey,
  ensureSigningKeyFile,
  loadKeyFile,
  mintSessionToken,
  rotateSigningKeyFile,
  watchSigningKeyRing,
} from '../../src/auth/index.js';
import { authConfig, exampleResolver, makeKey, testClock } from './helpers.js';

describe('key material', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-keys-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('rotates the signing ring with overlap and reloads it without a restart', async () => {
    const file = join(dir, 'ring.json');
    const clock = testClock();
    expect(await ensureSigningKeyFile(file)).toBe(true);
    expect(await ensureSigningKeyFile(file)).toBe(false);
    const ring = await watchSigningKeyRing(file, { now: clock.now, intervalMs: 3_600_000 });
    const resolver = await exampleResolver();
    const auth = createAuthenticator(authConfig({}), { resolver: () => resolver, signing: ring, now: clock.now });
    const mint = async () =>
      (await mintSessionToken({ ring, issuer: 'iamgate', audience: 'iamgate', subject: 'x', claims: { kind: 'user', name: 'bob', mfa: false, amr: [] }, now: clock.now(), ttlSeconds: 3600 })).token;
    const kidOf = (token: string): string => JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid as string;

    const oldToken = await mint();
    const oldKid = kidOf(oldToken);
    const newKid = await rotateSigningKeyFile(file, { now: clock.now(), activateAfterMs: 600_000 });
    await ring.reload();
    expect(ring.publicJwks().keys.map((k) => k.kid)).toEqual([oldKid, newKid]);
    expect(kidOf(await mint())).toBe(oldKid); // published, not signing yet
    clock.advance(600_000);
    const newToken = await mint();
    expect(kidOf(newToken)).toBe(newKid);
    for (const token of [oldToken, newToken]) {
      expect(await auth.authenticate({ authorization: `Bearer ${token}` })).toMatchObject({ ok: true });
    }
    // Once the old key has been superseded for longer than tokens live, the next rotation drops it.
    clock.advance(37 * 3600_000);
    await rotateSigningKeyFile(file, { now: clock.now() });
    await ring.reload();
    expect(ring.publicJwks().keys.map((k) => k.kid)).not.toContain(oldKid);
    ring.close();
  });

  it('keeps the last good ring when the file turns bad', async () => {
    const file = join(dir, 'ring-bad.json');
    await ensureSigningKeyFile(file);
    const errors: unknown[] = [];
    const ring = await watchSigningKeyRing(file, { intervalMs: 3_600_000, onError: (e) => errors.push(e) });
    const kid = ring.signer().kid;
    await writeFile(file, '{"keys": "nope"}');
    await ring.reload();
    expect(ring.signer().kid).toBe(kid);
    expect(errors).toHaveLength(1);
    ring.close();
  });

  it('creates the development key once even when first used concurrently, private to its owner', async () => {
    const file = join(dir, 'state', 'dev.jwk');
    const keys = await Promise.all(Array.from({ length: 5 }, () => ensureDevKey(file)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    const { stat } = await import('node:fs/promises');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toHaveProperty('d');
  });

  it('verifies only with the public part of keys from a file, and refuses symmetric keys', async () => {
    const file = join(dir, 'mixed.json');
    const key = await makeKey('pub-1');
    await writeFile(file, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac', alg: 'HS256' }, key.publicJwk] }));
    const source = await loadKeyFile(file);
    expect(source.status().keys).toBe(1);
    expect(source.has('hmac')).toBe(false);
    expect(await source.getKey('hmac', 'HS256')).toMatchObject({ ok: false, code: 'token_key_unknown' });
    expect(await source.getKey('pub-1', 'ES256')).toMatchObject({ ok: true });
    await writeFile(file, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    await expect(loadKeyFile(file)).rejects.toThrow(/no usable asymmetric public key/);
  });
});
