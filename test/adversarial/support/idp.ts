// A real identity provider for adversarial token tests: an ES256 key pair published as a JWKS on
// a loopback port that counts its fetches, and a signer that writes any protected header at all
// (odd `alg` spellings, `crit`, embedded `jwk`/`jku`/`x5u`, hostile `kid`s) with a real signature.
import { exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const IDP_ISSUER = 'https://idp.adversarial.test';
export const IDP_KID = 'adv-1';

export interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function makeSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** Signs `header.payload` with ES256 (JOSE r||s form), whatever the header says. */
export async function signCompact(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown> | string): Promise<string> {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

/** A token with the given header and payload and a chosen (possibly empty) signature. */
export function unsigned(header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}

export interface Idp {
  readonly issuer: string;
  readonly jwksUrl: string;
  readonly key: SigningKey;
  /** JWKS fetches served so far. */
  fetches(): number;
  /** Standard claims for `sub` at `nowMs` (iss, aud, iat, exp = iat + ttl seconds), overridable. */
  claims(sub: string, nowMs: number, extra?: Record<string, unknown>, ttlSeconds?: number): Record<string, unknown>;
  /** The `auth.issuers` entry that trusts this provider (ES256 from its JWKS, audience iamgate), plus `extra` keys. */
  issuerConfig(extra?: Record<string, unknown>): Record<string, unknown>;
  /** A correctly signed token: header `{alg: ES256, kid}` plus `header` overrides. */
  token(payload: Record<string, unknown>, header?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** Starts the JWKS endpoint (`/jwks.json`) and returns the signer for its key. */
export async function startIdp(): Promise<Idp> {
  const key = await makeSigningKey();
  let fetches = 0;
  const server = http.createServer((req, res) => {
    if (req.url !== '/jwks.json') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [{ ...key.publicJwk, kid: IDP_KID, alg: 'ES256', use: 'sig' }] }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  return {
    issuer: IDP_ISSUER,
    jwksUrl,
    key,
    fetches: () => fetches,
    claims(sub, nowMs, extra = {}, ttlSeconds = 300) {
      const iat = Math.floor(nowMs / 1000);
      return { iss: IDP_ISSUER, aud: 'iamgate', sub, iat, exp: iat + ttlSeconds, ...extra };
    },
    issuerConfig: (extra = {}) => ({ name: 'idp', issuer: IDP_ISSUER, audiences: ['iamgate'], algorithms: ['ES256'], jwksUrl, ...extra }),
    token: (payload, header = {}) => signCompact(key, { alg: 'ES256', kid: IDP_KID, typ: 'JWT', ...header }, payload),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A server that counts every request it receives: stands for an attacker's key URL (`jku`, `x5u`). */
export async function startCountingServer(): Promise<{ url: string; hits(): number; close(): Promise<void> }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    hits: () => hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
