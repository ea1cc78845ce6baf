// Opens the audit log a configuration describes: its sinks in order, the signing key (read from
// `signingKeyFile`, or in development generated once in the state folder), the public key written
// where operators asked for it, and a per-process instance id. Everything that can be wrong is
// found here, at start, before any listener opens.
import type { Redis } from 'ioredis';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { FolderError, makeFolder, readTextFile, writeNewFile } from '../config/index.js';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { AuditConfig, AuditSinkKind } from './config.js';
import { createAuditLog, type AuditLog } from './log.js';
import type { PublishedKey } from './schema.js';
import { createAuditSigner, type AuditSigner } from './signing.js';
import { createRedisStreamSink } from './sinks/redis.js';
import { createRotatingFileSink, type RotatingFileSink } from './sinks/rotation.js';
import { createStdoutSink } from './sinks/stream.js';
import type { RecordSink } from './sinks/types.js';

/** Name of the signing key generated in the state folder in development. */
export const GENERATED_KEY_FILE = 'audit-signing.pem';

export interface AuditSetupDeps {
  /** Relative paths in the section are resolved against this (the configuration file's folder). */
  readonly baseDir: string;
  /** Absolute folder of iamgate's local state, where a development signing key is generated. */
  readonly stateDir: string;
  /** Folders a generated key must never be written into (those holding the policies). */
  readonly protectedDirs: readonly string[];
  /** Redis for the `redis` sink (`redis.url` or `REDIS_URL`). */
  readonly redisUrl: string | undefined;
  /** A client to use instead of `redisUrl` (Sentinel); the caller closes it. */
  readonly redisClient?: Redis;
  /** Names this process's chain (default: host name, start time and a random suffix). */
  readonly instanceId?: string;
  readonly now?: () => number;
  /** Told about failed writes of `drop` sinks and of digest records, and about Redis errors. */
  readonly onSinkError?: (sink: string, err: unknown) => void;
}

/** The public key as served on the operations port: a JWK with its key id and algorithm. */
export type PublicJwk = Readonly<Record<string, string>>;

export interface ConfiguredAudit {
  readonly log: AuditLog;
  /** The digests' public key as a JWK (`kid`, `alg`, `use: sig`); undefined when the trail is unsigned. */
  readonly publicJwk: PublicJwk | undefined;
  /** Where the signing key came from, and whether it was generated now (for the start log). */
  readonly key?: { readonly file: string; readonly generated: boolean };
  /** Closes the trail's file and opens its path again (SIGHUP after logrotate renamed it); nothing without a file sink. */
  reopen(): Promise<void>;
}

/** A fresh instance id: host (the pod's name in Kubernetes), start time, random suffix. */
export function newInstanceId(now: number): string {
  return `${hostname()}-${now}-${randomBytes(3).toString('hex')}`;
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Writes a new Ed25519 key (PKCS#8 PEM, owner-only) unless the file exists; true when written. */
async function ensureGeneratedKey(file: string): Promise<boolean> {
  await makeFolder(dirname(file), 0o700);
  const { privateKey } = generateKeyPairSync('ed25519');
  return writeNewFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
}

async function readSigner(file: string, key: string): Promise<AuditSigner> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await readTextFile(file));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'not a PEM private key';
    throw new Error(`${key}: ${file}: ${why}`, { cause: err });
  }
  try {
    return createAuditSigner(privateKey);
  } catch (err) {
    throw new Error(`${key}: ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** The signer the configuration asks for, and where its key came from. */
async function signerFor(config: AuditConfig, deps: AuditSetupDeps): Promise<{ signer: AuditSigner; file: string; generated: boolean } | undefined> {
  if (!config.sign) return undefined;
  if (config.signingKeyFile !== undefined) {
    const file = resolve(deps.baseDir, config.signingKeyFile);
    return { signer: await readSigner(file, 'audit.signingKeyFile'), file, generated: false };
  }
  const file = join(deps.stateDir, GENERATED_KEY_FILE);
  const protectedDir = deps.protectedDirs.find((dir) => inside(dir, file));
  if (protectedDir !== undefined) {
    throw new Error(`audit.signingKeyFile: a generated key would be written to ${file}, inside the policies folder ${protectedDir}; set auth.stateDir (or audit.signingKeyFile) outside it`);
  }
  const generated = await ensureGeneratedKey(file);
  return { signer: await readSigner(file, 'audit (generated key)'), file, generated };
}

function jwkOf(key: PublishedKey): PublicJwk {
  return { ...key.jwk, kid: key.kid, alg: key.alg, use: 'sig' };
}

/** Writes the public key as PEM where `publicKeyFile` says. */
async function writePublicKey(file: string, key: PublishedKey): Promise<void> {
  const pem = createPublicKey({ key: { ...key.jwk }, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  await makeFolder(dirname(file));
  await writeFile(file, pem);
}

/** One sink as configured; throws with the key at fault (a file that cannot be opened, no Redis). */
function openSink(kind: AuditSinkKind, config: AuditConfig, deps: AuditSetupDeps): RecordSink {
  const fd = { durability: config.durability, whenFull: config.whenFull, ...(deps.now ? { now: deps.now } : {}) };
  switch (kind) {
    case 'stdout':
      return createStdoutSink(fd);
    case 'file': {
      const file = resolve(deps.baseDir, config.filePath ?? '');
      try {
        return createRotatingFileSink(file, {
          ...fd,
          ...config.fileRotate,
          onError: (err) => deps.onSinkError?.('file', err),
        });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'ELOOP' ? 'a symbolic link: the trail is written only to a file of its own' : (code ?? String(err));
        const folder = err instanceof FolderError ? `: ${err.message}` : '';
        throw new Error(`audit.file.path: ${file}: cannot be opened for appending (${why})${folder}`, { cause: err });
      }
    }
    case 'redis':
      if (deps.redisClient === undefined && deps.redisUrl === undefined) {
        throw new Error('audit.sink: the redis sink needs redis.url, redis.sentinel or REDIS_URL');
      }
      return createRedisStreamSink({
        redis: deps.redisClient ?? (deps.redisUrl as string),
        stream: config.redis.stream,
        maxLen: config.redis.maxLen,
        whenFull: config.redis.whenFull,
        ...(deps.now ? { now: deps.now } : {}),
        onError: (err) => deps.onSinkError?.('redis', err),
      });
  }
}

/** Every configured sink, in order; on a failure the ones already open are closed. */
function openSinks(config: AuditConfig, deps: AuditSetupDeps): RecordSink[] {
  const sinks: RecordSink[] = [];
  try {
    for (const kind of config.sinks) sinks.push(openSink(kind, config, deps));
  } catch (err) {
    for (const sink of sinks) void sink.close().catch(() => undefined);
    throw err;
  }
  return sinks;
}

/**
 * Opens the configured audit log (its first record, `audit.start`, is on its way when this
 * resolves). Throws with the key at fault when a key or file cannot be read or written.
 */
export async function openConfiguredAudit(config: AuditConfig, deps: AuditSetupDeps): Promise<ConfiguredAudit> {
  const signing = await signerFor(config, deps);
  if (signing && config.publicKeyFile !== undefined) {
    const file = resolve(deps.baseDir, config.publicKeyFile);
    try {
      await writePublicKey(file, signing.signer.key);
    } catch (err) {
      throw new Error(`audit.publicKeyFile: ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
  }
  const now = deps.now ?? Date.now;
  const sinks = openSinks(config, deps);
  const file = sinks.find((s): s is RotatingFileSink => 'reopen' in s);
  const log = createAuditLog({
    sinks,
    instanceId: deps.instanceId ?? newInstanceId(now()),
    ...(signing ? { signer: signing.signer } : {}),
    digestEvery: config.digestEvery,
    now,
    ...(deps.onSinkError ? { onSinkError: deps.onSinkError } : {}),
  });
  return {
    log,
    publicJwk: signing ? jwkOf(signing.signer.key) : undefined,
    ...(signing ? { key: { file: signing.file, generated: signing.generated } } : {}),
    reopen: () => file?.reopen() ?? Promise.resolve(),
  };
}
