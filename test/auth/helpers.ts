// Shared fixtures for the authentication suites: real ES256 key pairs and signatures, a real JWKS
// server on a loopback port with outage controls, the example directory, and a test clock.
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { generate } from 'otplib';
import { afterAll, beforeAll } from 'vitest';
import { answerStateRequest, createMemoryStateStore, createRedisClient, readAuthConfig, redisReady, type AuthConfig, type StateChannel } from '../../src/auth/index.js';
import { startOwnedRedis, type TestRedis } from '../support/redis.js';
import { createPrincipalResolver, loadDirectory, type Directory, type Principal, type PrincipalResolver } from '../../src/identity/index.js';
import { createContext, evaluate } from '../../src/policy/index.js';

export const REPO = new URL('../..', import.meta.url).pathname;
export const EXAMPLE_DIRECTORY = join(REPO, 'policies', 'directory.yaml');

/** The user the TOTP tests enrol. */
export const TOTP_USER = 'arn:aws:iam::111122223333:user/engineering/carol';

/** The TOTP code of `secret` at the instant `ms` (epoch milliseconds). */
export const totpCodeAt = (secret: string, ms: number): Promise<string> => generate({ secret, epoch: Math.floor(ms / 1000) });

/** A clock tests move by hand. */
export function testClock(start = Date.UTC(2026, 0, 15, 12, 0, 0)): { now: () => number; advance(ms: number): void; set(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms), set: (ms) => void (t = ms) };
}

export interface TestKey {
  readonly kid: string;
  readonly alg: 'ES256' | 'RS256' | 'EdDSA';
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function makeKey(kid: string, alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { kid, alg, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export interface SignOptions {
  readonly iss: string;
  readonly aud?: string | string[];
  readonly now: number;
  /** Seconds from now (default 600). */
  readonly ttl?: number;
  readonly iatOffset?: number;
  readonly nbfOffset?: number;
  readonly kid?: string | null;
}

/** Signs a JWT with a real key; claims default to iss/aud/iat/exp. */
export async function sign(key: TestKey, claims: JWTPayload, o: SignOptions): Promise<string> {
  const iat = Math.floor(o.now / 1000) + (o.iatOffset ?? 0);
  const header = o.kid === null ? { alg: key.alg } : { alg: key.alg, kid: o.kid ?? key.kid };
  let jwt = new SignJWT(claims)
    .setProtectedHeader(header)
    .setIssuer(o.iss)
    .setAudience(o.aud ?? 'iamgate')
    .setIssuedAt(iat)
    .setExpirationTime(Math.floor(o.now / 1000) + (o.ttl ?? 600));
  if (o.nbfOffset !== undefined) jwt = jwt.setNotBefore(Math.floor(o.now / 1000) + o.nbfOffset);
  return jwt.sign(key.privateKey);
}

const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');

/** An unsigned token (`alg: none`). */
export function unsignedToken(payload: JWTPayload): string {
  return `${b64({ alg: 'none', typ: 'JWT' })}.${b64(payload)}.`;
}

/** The algorithm-confusion attack: HS256 with the issuer's public key (PEM) as the HMAC secret. */
export async function hmacWithPublicKey(key: TestKey, payload: JWTPayload): Promise<string> {
  const pem = await exportSPKI(key.publicKey);
  const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: key.kid })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
}

/** Replaces the payload of a signed token, keeping header and signature. */
export function tamper(token: string, change: (p: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  change(payload);
  return `${h}.${b64(payload)}.${s}`;
}

export interface JwksServer {
  readonly url: string;
  /** JWKS requests received so far. */
  readonly requests: () => number;
  setKeys(keys: readonly JWK[]): void;
  /** `ok` serves the keys, `error` answers 500, `hang` never answers. */
  setMode(mode: 'ok' | 'error' | 'hang'): void;
  close(): Promise<void>;
}

/** A real JWKS endpoint on 127.0.0.1. */
export async function startJwksServer(keys: readonly JWK[]): Promise<JwksServer> {
  let current = [...keys];
  let mode: 'ok' | 'error' | 'hang' = 'ok';
  let count = 0;
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    count++;
    if (mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (mode === 'error') {
      res.writeHead(500).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: current }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    requests: () => count,
    setKeys: (k) => void (current = [...k]),
    setMode: (m) => void (mode = m),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads an auth configuration, failing the test on findings. */
export function authConfig(raw: unknown, development = false): AuthConfig {
  const { config, findings } = readAuthConfig(raw, { development });
  if (!config) throw new Error(`bad test config: ${JSON.stringify(findings)}`);
  return config;
}

/** The example directory of policies/. */
export async function exampleDirectory(): Promise<Directory> {
  const { directory, findings } = await loadDirectory(EXAMPLE_DIRECTORY);
  if (!directory) throw new Error(`example directory does not load: ${JSON.stringify(findings)}`);
  return directory;
}

export async function exampleResolver(): Promise<PrincipalResolver> {
  return createPrincipalResolver(await exampleDirectory());
}

/** The engine's decision for a principal acting on a resource, with the principal's own context. */
export function decide(p: Principal, action: string, resource: string): string {
  return evaluate(p.policySet, { principal: p.arn, action, resource, context: createContext(p.context) }).decision;
}

/**
 * Channels of `serve --workers` workers to one primary holding `store`, delivering as IPC does
 * (asynchronously, as copies): each call of the returned function is one worker's channel.
 */
export function primaryFor(store = createMemoryStateStore()): () => StateChannel {
  return () => {
    const listeners: ((m: unknown) => void)[] = [];
    return {
      send: (message) => void answerStateRequest(store, structuredClone(message)).then((reply) => setImmediate(() => listeners.forEach((l) => l(structuredClone(reply))))),
      onMessage: (listener) => void listeners.push(listener),
    };
  };
}

/**
 * A redis-server of the suite's own (see startOwnedRedis), started before its tests and stopped after
 * them, and fail-fast clients to it with the given command deadline, disconnected at the end.
 */
export function redisForSuite(commandTimeoutMs: number): { server(): TestRedis; connect(): Promise<Redis> } {
  let redis: TestRedis | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    redis = await startOwnedRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await redis?.close();
  });
  const server = (): TestRedis => {
    if (!redis) throw new Error('redis-server is not started yet');
    return redis;
  };
  return {
    server,
    connect: async () => {
      const c = createRedisClient(server().url, { commandTimeoutMs });
      clients.push(c);
      await redisReady(c);
      return c;
    },
  };
}

/**
 * What an STS answer tells a caller besides the call's own request id (its status and body): two
 * answers compared to show they tell nothing apart each carry an id of their own, and only that.
 */
export function answerOf(a: { readonly status: number; readonly body: Record<string, unknown> }): { status: number; body: Record<string, unknown> } {
  const { requestId, ...body } = a.body;
  if (typeof requestId !== 'string' || requestId === '') throw new Error(`the answer carries no request id: ${JSON.stringify(a.body)}`);
  return { status: a.status, body };
}
