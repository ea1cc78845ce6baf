// The `audit` section of iamgate.yaml: where the trail goes, how durable it is, what happens when a
// sink cannot keep up, and the key digests are signed with. Every problem is reported at once.
// docs/configuration.md and docs/audit.md document every key.
import { FileReader, type Doc } from '../config/reader.js';
import type { Finding } from '../policy/index.js';
import { DEFAULT_STREAM } from './sinks/redis.js';
import type { Durability } from './sinks/stream.js';
import type { WhenFull } from './sinks/types.js';

export const AUDIT_SINKS = ['stdout', 'file', 'redis'] as const;
export type AuditSinkKind = (typeof AUDIT_SINKS)[number];

export interface AuditConfig {
  /** Where every record goes, in this order; never empty. */
  readonly sinks: readonly AuditSinkKind[];
  /** The file sink's path, as written (relative paths are resolved against the configuration file's folder). */
  readonly filePath: string | undefined;
  /** The file sink's rotation (docs/audit.md): by size, by age, or neither (reopen on SIGHUP only). */
  readonly fileRotate: { readonly maxBytes?: number; readonly intervalMs?: number } | undefined;
  /** stdout and file: `durable` waits for each record's write before forwarding. */
  readonly durability: Durability;
  /** stdout and file: what a full or failing sink does. */
  readonly whenFull: WhenFull;
  readonly redis: { readonly stream: string; readonly maxLen: number; readonly whenFull: WhenFull };
  /** Sign digests; without a key in development one is generated in the state folder. */
  readonly sign: boolean;
  /** PEM private key (Ed25519 or P-256), as written. */
  readonly signingKeyFile: string | undefined;
  readonly digestEvery: { readonly records: number; readonly ms: number };
  /** Where the public key is written at start (PEM), as written. */
  readonly publicKeyFile: string | undefined;
  /** Which allowed requests also get an `outcome` record once the upstream leg ends (docs/audit.md). */
  readonly outcomes: AuditOutcomes;
}

/**
 * `outcome` records after allowed requests: `none`, only for a forwarding that did not complete
 * (`failures`: upstream unreachable, timed out, reset, or the caller gone), or for every one (`all`).
 */
export const AUDIT_OUTCOMES = ['none', 'failures', 'all'] as const;
export type AuditOutcomes = (typeof AUDIT_OUTCOMES)[number];

export const AUDIT_DEFAULTS = {
  sinks: ['stdout'] as readonly AuditSinkKind[],
  durability: 'durable' as Durability,
  whenFull: 'refuse' as WhenFull,
  redis: { stream: DEFAULT_STREAM, maxLen: 1_000_000 },
  digestEvery: { records: 1000, ms: 60_000 },
  // The decision record is the trail's evidence of each answer; a completed forwarding adds nothing
  // a decision did not say (its status and latency are in the metrics and traces), a failed one does.
  outcomes: 'failures' as AuditOutcomes,
} as const;

export interface ReadAuditOptions {
  /** Key path of the section (default `audit`). */
  readonly path?: string;
  readonly development: boolean;
  readonly file?: string;
  /** Whether Redis is configured (`redis.url` or `REDIS_URL`); unknown (undefined) skips that check. */
  readonly redisConfigured?: boolean;
}

const KEYS = ['sink', 'file', 'durability', 'whenFull', 'redis', 'sign', 'signingKeyFile', 'digestEvery', 'publicKeyFile', 'outcomes'];

/** Reads the sink list: one name or a list of names, each once. */
function readSinks(r: FileReader, root: Doc, path: string): AuditSinkKind[] {
  const raw = root['sink'];
  if (raw === undefined) return [...AUDIT_DEFAULTS.sinks];
  const list: unknown[] = Array.isArray(raw) ? raw : [raw];
  const sinks: AuditSinkKind[] = [];
  list.forEach((item, i) => {
    const where = Array.isArray(raw) ? `${path}.sink[${i}]` : `${path}.sink`;
    if (typeof item !== 'string' || !(AUDIT_SINKS as readonly string[]).includes(item)) r.problem(where, `must be one of ${AUDIT_SINKS.join(', ')} (got ${JSON.stringify(item)})`);
    else if (sinks.includes(item as AuditSinkKind)) r.problem(where, `${item} is listed twice`);
    else sinks.push(item as AuditSinkKind);
  });
  if (list.length === 0) r.problem(`${path}.sink`, 'must name at least one sink (every decision is recorded)');
  return sinks.length > 0 ? sinks : [...AUDIT_DEFAULTS.sinks];
}

function optionalText(r: FileReader, doc: Doc, key: string, path: string): string | undefined {
  return doc[key] === undefined ? undefined : r.string(doc, key, path, '');
}

/**
 * Reads the `audit` section (undefined = all defaults). `config` is set only when there is no
 * problem. In production a trail that signs (the default) needs `signingKeyFile`.
 */
export function readAuditConfig(raw: unknown, options: ReadAuditOptions): { config?: AuditConfig; findings: Finding[] } {
  const r = new FileReader(options.file);
  const path = options.path ?? 'audit';
  const root = r.section({ audit: raw }, 'audit', path, KEYS);
  const sinks = readSinks(r, root, path);
  const file = r.section(root, 'file', `${path}.file`, ['path', 'rotate']);
  const rotate = r.section(file, 'rotate', `${path}.file.rotate`, ['maxBytes', 'intervalMs']);
  const redis = r.section(root, 'redis', `${path}.redis`, ['stream', 'maxLen', 'whenFull']);
  const digest = r.section(root, 'digestEvery', `${path}.digestEvery`, ['records', 'ms']);
  const whenFull = r.oneOf<WhenFull>(root, 'whenFull', `${path}.whenFull`, AUDIT_DEFAULTS.whenFull, ['refuse', 'drop']);
  const filePath = optionalText(r, file, 'path', `${path}.file.path`);
  const sign = r.bool(root, 'sign', `${path}.sign`, true);
  const signingKeyFile = optionalText(r, root, 'signingKeyFile', `${path}.signingKeyFile`);
  const publicKeyFile = optionalText(r, root, 'publicKeyFile', `${path}.publicKeyFile`);

  if (sinks.includes('file') && filePath === undefined) r.problem(`${path}.file.path`, 'the file sink needs a path');
  if (!sinks.includes('file') && root['file'] !== undefined) r.problem(`${path}.file`, 'is set but audit.sink does not include file');
  if (file['rotate'] !== undefined && rotate['maxBytes'] === undefined && rotate['intervalMs'] === undefined) {
    r.problem(`${path}.file.rotate`, 'give maxBytes, intervalMs or both (without rotate the file is only reopened on SIGHUP)');
  }
  if (!sinks.includes('redis') && root['redis'] !== undefined) r.problem(`${path}.redis`, 'is set but audit.sink does not include redis');
  if (sinks.includes('redis') && options.redisConfigured === false) r.problem(`${path}.sink`, 'the redis sink needs redis.url (or REDIS_URL)');
  if (!sign && signingKeyFile !== undefined) r.problem(`${path}.signingKeyFile`, 'is set but audit.sign is false');
  if (!sign && publicKeyFile !== undefined) r.problem(`${path}.publicKeyFile`, 'there is no public key when audit.sign is false');
  if (sign && signingKeyFile === undefined && !options.development) {
    r.problem(`${path}.signingKeyFile`, 'required in production: a PEM Ed25519 or P-256 private key for the signed digests (or set audit.sign: false)');
  }

  const config: AuditConfig = {
    sinks,
    filePath,
    fileRotate: file['rotate'] === undefined ? undefined : {
      ...(rotate['maxBytes'] === undefined ? {} : { maxBytes: r.int(rotate, 'maxBytes', `${path}.file.rotate.maxBytes`, 0, 4096, Number.MAX_SAFE_INTEGER) }),
      ...(rotate['intervalMs'] === undefined ? {} : { intervalMs: r.int(rotate, 'intervalMs', `${path}.file.rotate.intervalMs`, 0, 1000, 366 * 86_400_000) }),
    },
    durability: r.oneOf<Durability>(root, 'durability', `${path}.durability`, AUDIT_DEFAULTS.durability, ['durable', 'batched']),
    whenFull,
    redis: {
      stream: r.string(redis, 'stream', `${path}.redis.stream`, AUDIT_DEFAULTS.redis.stream),
      maxLen: r.int(redis, 'maxLen', `${path}.redis.maxLen`, AUDIT_DEFAULTS.redis.maxLen, 1000, 1_000_000_000),
      whenFull: r.oneOf<WhenFull>(redis, 'whenFull', `${path}.redis.whenFull`, whenFull, ['refuse', 'drop']),
    },
    sign,
    signingKeyFile,
    digestEvery: {
      records: r.int(digest, 'records', `${path}.digestEvery.records`, AUDIT_DEFAULTS.digestEvery.records, 1, 1_000_000),
      ms: r.int(digest, 'ms', `${path}.digestEvery.ms`, AUDIT_DEFAULTS.digestEvery.ms, 0, 86_400_000),
    },
    publicKeyFile,
    outcomes: r.oneOf<AuditOutcomes>(root, 'outcomes', `${path}.outcomes`, AUDIT_DEFAULTS.outcomes, AUDIT_OUTCOMES),
  };
  return r.findings.length > 0 ? { findings: r.findings } : { config, findings: [] };
}
