// Loading the configuration: the YAML file, then environment overrides, then validation of every
// key — all problems listed together (file, key, reason). Nothing here starts anything.
import { access } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { finding, printable, type Finding } from './findings.js';
import { checkOriginUrl, checkRedisUrl, FileReader, isDoc, parseHostPort, type Doc } from './reader.js';
import { DEFAULTS, type GatewayConfig, type LogLevel, type Mode, type RedisSentinelConfig } from './schema.js';
import { fileErrorReason, readTextFile, TextFileError } from './text-file.js';
import { parseYamlText } from './yaml.js';

export type ConfigLoad = { readonly ok: true; readonly config: GatewayConfig } | { readonly ok: false; readonly problems: readonly Finding[] };

/**
 * A configuration as far as it could be read (defaults standing in for wrong values; absent when
 * the file could not be read or parsed) and every problem found in the keys read here.
 */
export interface ConfigParts {
  readonly config?: GatewayConfig;
  readonly problems: readonly Finding[];
}

/**
 * Sections that feature modules read (each with its own reader; src/app/config.ts composes them):
 * here they are only known names, passed on as written in `sections`.
 */
export const SECTION_NAMES = ['headers', 'auth', 'cache', 'audit', 'assertion', 'tracing', 'extAuthz'] as const;

/** Environment variables that override the file. */
export const ENV = {
  config: 'IAMGATE_CONFIG',
  port: 'IAMGATE_PORT',
  opsPort: 'IAMGATE_OPS_PORT',
  upstream: 'IAMGATE_UPSTREAM',
  redisUrl: 'REDIS_URL',
  logLevel: 'IAMGATE_LOG_LEVEL',
  stateDir: 'IAMGATE_STATE_DIR',
} as const;

const ENV_FILE = '(environment)';
const TOP_KEYS = ['version', 'mode', 'listen', 'operations', 'upstream', 'limits', 'paths', 'trustedProxies', 'policies', 'forwardAuth', 'decisions', 'redis', 'logging', 'shutdown', 'websocket', ...SECTION_NAMES];
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Readonly<Record<string, string | undefined>>;

/** Reads an integer environment override, reporting a malformed one. */
function envPort(env: Env, name: string, r: FileReader): number | undefined {
  const text = env[name];
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || Number(text) > 65535) {
    r.problem(name, `must be a port number from 0 to 65535 (got ${JSON.stringify(text)})`, ENV_FILE);
    return undefined;
  }
  return Number(text);
}

const CLUSTER_UNSUPPORTED =
  'Redis Cluster is not supported: the decision cache, its announcements and the authentication state each need one primary (keys and pub/sub through one client). Use a standalone Redis (redis.url) or Redis Sentinel (redis.sentinel)';

/** `redis.sentinel`: the monitored primary's name and at least one sentinel as `host:port`. */
function readSentinel(r: FileReader, redis: Doc): RedisSentinelConfig | undefined {
  if (redis['sentinel'] === undefined || redis['sentinel'] === null) return undefined;
  const s = r.section(redis, 'sentinel', 'redis.sentinel', ['masterName', 'nodes']);
  const masterName = r.string(s, 'masterName', 'redis.sentinel.masterName', '');
  if (masterName === '') r.problem('redis.sentinel.masterName', 'the name of the primary the sentinels monitor is required');
  const nodes: { host: string; port: number }[] = [];
  const raw = s['nodes'];
  if (!Array.isArray(raw) || raw.length === 0) r.problem('redis.sentinel.nodes', 'must list at least one sentinel as "host:port"');
  else {
    raw.forEach((n: unknown, i) => {
      const node = typeof n === 'string' ? parseHostPort(n) : undefined;
      if (node) nodes.push(node);
      else r.problem(`redis.sentinel.nodes[${i}]`, `must be "host:port" (got ${JSON.stringify(n)})`);
    });
  }
  return { masterName, nodes };
}

/** Where development mode listens by default. */
const LOOPBACK = '127.0.0.1';

/** Validates a parsed configuration document with environment overrides; `file` names it in problems and anchors relative paths. */
export function readConfig(doc: unknown, env: Env, file: string | undefined): ConfigLoad {
  return settle(readConfigParts(doc, env, file));
}

function settle(parts: ConfigParts): ConfigLoad {
  return parts.problems.length > 0 || !parts.config ? { ok: false, problems: parts.problems } : { ok: true, config: parts.config };
}

/** The configuration with defaults standing in for wrong values, and the problems found. */
export function readConfigParts(doc: unknown, env: Env, file: string | undefined): { config: GatewayConfig; problems: Finding[] } {
  const r = new FileReader(file);
  const base = file === undefined ? process.cwd() : dirname(file);
  const root: Doc = isDoc(doc) ? doc : {};
  if (!isDoc(doc) && doc !== undefined && doc !== null) r.add('DATA_TYPE_MISMATCH', '', 'the configuration must be a mapping');
  r.unknownKeys(root, '', TOP_KEYS);
  if (root['version'] !== 1) r.problem('version', `must be 1 (got ${JSON.stringify(root['version'])})`);
  const mode: Mode = r.oneOf(root, 'mode', 'mode', DEFAULTS.mode, ['development', 'production']);

  const listen = r.section(root, 'listen', 'listen', ['host', 'port', 'headersTimeoutMs', 'requestTimeoutMs', 'keepAliveTimeoutMs', 'maxConnections', 'maxHeaders']);
  const ops = r.section(root, 'operations', 'operations', ['host', 'port', 'operatorEndpoints', 'hosts', 'maxConnections']);
  const up = r.section(root, 'upstream', 'upstream', ['url', 'connections', 'connectTimeoutMs', 'headersTimeoutMs', 'idleTimeoutMs', 'keepAliveTimeoutMs', 'forwardAuthorization', 'preserveHost']);
  const limits = r.section(root, 'limits', 'limits', ['maxBodyBytes', 'maxTargetLength', 'maxHeaderBytes']);
  const paths = r.section(root, 'paths', 'paths', ['allowSemicolon', 'allowTrailingDot', 'allowDoubleEncoding', 'refuseNonNfkc']);
  const policies = r.section(root, 'policies', 'policies', ['directory', 'routes', 'watch', 'shadow']);
  const shadow = r.string(policies, 'shadow', 'policies.shadow', '');
  const forwardAuth = r.section(root, 'forwardAuth', 'forwardAuth', ['enabled']);
  const decisions = r.section(root, 'decisions', 'decisions', ['explainToCaller']);
  const redis = r.section(root, 'redis', 'redis', ['url', 'sentinel', 'cluster']);
  const logging = r.section(root, 'logging', 'logging', ['level']);
  const shutdown = r.section(root, 'shutdown', 'shutdown', ['graceMs']);
  const websocket = r.section(root, 'websocket', 'websocket', ['maxLifetimeMs']);
  const HOUR = 3_600_000;

  let upstreamUrl = r.string(up, 'url', 'upstream.url', DEFAULTS.upstream.url);
  const upstreamMessage = checkOriginUrl(upstreamUrl);
  if (upstreamMessage && up['url'] !== undefined) r.problem('upstream.url', upstreamMessage);
  const envUpstream = env[ENV.upstream];
  if (envUpstream !== undefined && envUpstream !== '') {
    const message = checkOriginUrl(envUpstream);
    if (message) r.problem(ENV.upstream, message, ENV_FILE);
    else upstreamUrl = envUpstream;
  }
  let redisUrl = redis['url'] === undefined ? undefined : r.string(redis, 'url', 'redis.url', '');
  if (redisUrl !== undefined && redisUrl !== '' && checkRedisUrl(redisUrl)) r.problem('redis.url', checkRedisUrl(redisUrl)!);
  const envRedis = env[ENV.redisUrl];
  if (envRedis !== undefined && envRedis !== '') {
    const message = checkRedisUrl(envRedis);
    if (message) r.problem(ENV.redisUrl, message, ENV_FILE);
    else redisUrl = envRedis;
  }
  const sentinel = readSentinel(r, redis);
  if (redis['cluster'] !== undefined && redis['cluster'] !== null) r.problem('redis.cluster', CLUSTER_UNSUPPORTED);
  let level = r.oneOf(logging, 'level', 'logging.level', DEFAULTS.logging.level as LogLevel, LOG_LEVELS);
  const envLevel = env[ENV.logLevel];
  if (envLevel !== undefined && envLevel !== '') {
    if ((LOG_LEVELS as readonly string[]).includes(envLevel)) level = envLevel as LogLevel;
    else r.problem(ENV.logLevel, `must be one of ${LOG_LEVELS.join(', ')} (got ${JSON.stringify(envLevel)})`, ENV_FILE);
  }

  const port = envPort(env, ENV.port, r) ?? r.int(listen, 'port', 'listen.port', DEFAULTS.listen.port, 0, 65535);
  const opsPort = envPort(env, ENV.opsPort, r) ?? r.int(ops, 'port', 'operations.port', DEFAULTS.operations.port, 0, 65535);
  if (port !== 0 && port === opsPort) {
    // Name where each port came from: a variable set in the shell is not in the file the problem would otherwise blame.
    const fromEnv = (name: string): boolean => env[name] !== undefined && env[name] !== '';
    const gatewayFrom = fromEnv(ENV.port) ? ENV.port : 'listen.port';
    const opsFrom = fromEnv(ENV.opsPort) ? ENV.opsPort : 'operations.port';
    const clash = `${port} is both the gateway's port (${gatewayFrom}) and the operations port (${opsFrom}): they must differ`;
    if (fromEnv(ENV.opsPort) || fromEnv(ENV.port)) r.problem(fromEnv(ENV.opsPort) ? ENV.opsPort : ENV.port, `${clash}; move one with ${ENV.port} or ${ENV.opsPort}`, ENV_FILE);
    else r.problem('operations.port', `${clash}; change one of them`);
  }

  const sections: Record<string, unknown> = {};
  for (const name of SECTION_NAMES) if (root[name] !== undefined) sections[name] = root[name];

  const resolvePath = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const config: GatewayConfig = {
    version: 1,
    mode,
    file,
    listen: {
      // Development mode (operator endpoints on, local token minting) stays on loopback unless told otherwise.
      host: r.string(listen, 'host', 'listen.host', mode === 'development' ? LOOPBACK : DEFAULTS.listen.host),
      port,
      headersTimeoutMs: r.int(listen, 'headersTimeoutMs', 'listen.headersTimeoutMs', DEFAULTS.listen.headersTimeoutMs, 1, HOUR),
      requestTimeoutMs: r.int(listen, 'requestTimeoutMs', 'listen.requestTimeoutMs', DEFAULTS.listen.requestTimeoutMs, 0, 24 * HOUR),
      // 0 would turn off node:http's idle bound: a kept-alive connection left idle would stay open for ever.
      keepAliveTimeoutMs: r.int(listen, 'keepAliveTimeoutMs', 'listen.keepAliveTimeoutMs', DEFAULTS.listen.keepAliveTimeoutMs, 1, HOUR),
      maxConnections: r.int(listen, 'maxConnections', 'listen.maxConnections', DEFAULTS.listen.maxConnections, 1, 1_000_000),
      maxHeaders: r.int(listen, 'maxHeaders', 'listen.maxHeaders', DEFAULTS.listen.maxHeaders, 16, 1000),
    },
    operations: {
      host: r.string(ops, 'host', 'operations.host', mode === 'development' ? LOOPBACK : DEFAULTS.operations.host),
      port: opsPort,
      operatorEndpoints: r.bool(ops, 'operatorEndpoints', 'operations.operatorEndpoints', mode === 'development'),
      hosts: r.texts(ops, 'hosts', 'operations.hosts') ?? [],
      maxConnections: r.int(ops, 'maxConnections', 'operations.maxConnections', DEFAULTS.operations.maxConnections, 1, 1_000_000),
    },
    upstream: {
      url: upstreamUrl,
      connections: r.int(up, 'connections', 'upstream.connections', DEFAULTS.upstream.connections, 1, 65535),
      connectTimeoutMs: r.int(up, 'connectTimeoutMs', 'upstream.connectTimeoutMs', DEFAULTS.upstream.connectTimeoutMs, 1, HOUR),
      headersTimeoutMs: r.int(up, 'headersTimeoutMs', 'upstream.headersTimeoutMs', DEFAULTS.upstream.headersTimeoutMs, 1, HOUR),
      idleTimeoutMs: r.int(up, 'idleTimeoutMs', 'upstream.idleTimeoutMs', DEFAULTS.upstream.idleTimeoutMs, 1, HOUR),
      keepAliveTimeoutMs: r.int(up, 'keepAliveTimeoutMs', 'upstream.keepAliveTimeoutMs', DEFAULTS.upstream.keepAliveTimeoutMs, 1, HOUR),
      forwardAuthorization: r.bool(up, 'forwardAuthorization', 'upstream.forwardAuthorization', DEFAULTS.upstream.forwardAuthorization),
      preserveHost: r.bool(up, 'preserveHost', 'upstream.preserveHost', DEFAULTS.upstream.preserveHost),
    },
    limits: {
      maxBodyBytes: r.int(limits, 'maxBodyBytes', 'limits.maxBodyBytes', DEFAULTS.limits.maxBodyBytes, 0, Number.MAX_SAFE_INTEGER),
      maxTargetLength: r.int(limits, 'maxTargetLength', 'limits.maxTargetLength', DEFAULTS.limits.maxTargetLength, 16, 65536),
      maxHeaderBytes: r.int(limits, 'maxHeaderBytes', 'limits.maxHeaderBytes', DEFAULTS.limits.maxHeaderBytes, 1024, 1024 * 1024),
    },
    paths: {
      allowSemicolon: r.bool(paths, 'allowSemicolon', 'paths.allowSemicolon', DEFAULTS.paths.allowSemicolon),
      allowTrailingDot: r.bool(paths, 'allowTrailingDot', 'paths.allowTrailingDot', DEFAULTS.paths.allowTrailingDot),
      allowDoubleEncoding: r.bool(paths, 'allowDoubleEncoding', 'paths.allowDoubleEncoding', DEFAULTS.paths.allowDoubleEncoding),
      refuseNonNfkc: r.bool(paths, 'refuseNonNfkc', 'paths.refuseNonNfkc', DEFAULTS.paths.refuseNonNfkc),
    },
    trustedProxies: r.cidrs(root, 'trustedProxies', 'trustedProxies'),
    policies: {
      directory: resolvePath(r.string(policies, 'directory', 'policies.directory', DEFAULTS.policies.directory)),
      routes: resolvePath(r.string(policies, 'routes', 'policies.routes', DEFAULTS.policies.routes)),
      watch: r.bool(policies, 'watch', 'policies.watch', DEFAULTS.policies.watch),
      ...(shadow === '' ? {} : { shadow: resolvePath(shadow) }),
    },
    forwardAuth: { enabled: r.bool(forwardAuth, 'enabled', 'forwardAuth.enabled', DEFAULTS.forwardAuth.enabled) },
    decisions: { explainToCaller: r.bool(decisions, 'explainToCaller', 'decisions.explainToCaller', DEFAULTS.decisions.explainToCaller) },
    redis: { url: redisUrl === '' ? undefined : redisUrl, sentinel },
    logging: { level },
    shutdown: { graceMs: r.int(shutdown, 'graceMs', 'shutdown.graceMs', DEFAULTS.shutdown.graceMs, 0, HOUR) },
    websocket: { maxLifetimeMs: r.int(websocket, 'maxLifetimeMs', 'websocket.maxLifetimeMs', DEFAULTS.websocket.maxLifetimeMs, 0, 7 * 24 * HOUR) },
    sections,
  };
  return { config, problems: r.findings };
}

/** Reports files the configuration names that cannot be reached, with the reason (missing, a symbolic link loop, ...). */
async function checkFiles(config: GatewayConfig): Promise<Finding[]> {
  const problems: Finding[] = [];
  for (const [key, path] of [['policies.directory', config.policies.directory], ['policies.routes', config.policies.routes]] as const) {
    try {
      await access(path);
    } catch (err) {
      problems.push(finding('FILE_UNREADABLE', key, `cannot read ${path}: ${fileErrorReason(err)}`, config.file));
    }
  }
  return problems;
}

/**
 * Loads the configuration: the file named by `file`, else `IAMGATE_CONFIG`; with no file at all,
 * the defaults (and the environment). Never throws for bad input: problems come back listed.
 */
export async function loadConfig(options: { file?: string; env?: Env } = {}): Promise<ConfigLoad> {
  return settle(await loadConfigParts(options));
}

/** As loadConfig, with the configuration as far as it could be read beside its problems. */
export async function loadConfigParts(options: { file?: string; env?: Env } = {}): Promise<ConfigParts> {
  const env = options.env ?? process.env;
  const named = options.file ?? env[ENV.config];
  if (named === undefined || named === '') return readConfigParts({ version: 1 }, env, undefined);
  const file = resolve(named);
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    const why = fileErrorReason(err);
    return { problems: [finding('FILE_UNREADABLE', '', `cannot read the configuration file (${why})`, file)] };
  }
  const parsed = parseYamlText(text, file);
  if (!parsed.ok) return { problems: parsed.findings };
  const { config, problems } = readConfigParts(parsed.value, env, file);
  return { config, problems: [...problems, ...(await checkFiles(config))] };
}

/** One line per problem: `file: key: reason`. */
export function formatProblems(problems: readonly Finding[]): string[] {
  return problems.map((p) => printable(`${p.file ?? '(configuration)'}: ${p.path || '(root)'}: ${p.message}`));
}
