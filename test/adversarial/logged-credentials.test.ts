// No line of the operational log holds a credential, whichever call wrote it: bearer tokens (any
// JWT, iamgate's own STS session tokens among them), TOTP codes and the secrets the configuration
// holds are redacted as each line is written (src/app/log-redaction.ts), not where one call site
// quotes input. Planted here in every input that reaches a line: a policy file's values quoted by
// a failed reload, a refused token's issuer, a YAML error's excerpt, the arguments of a Redis
// command a real redis-server refused (ioredis puts them on the error), a child logger's bindings.
import { Writable } from 'node:stream';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { generate } from 'otplib';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configuredSecrets, createIamgate, createLogger, loadConfig, type Iamgate } from '../../src/app/index.js';
import { runCli } from '../../src/cli/cli.js';
import '../../src/cli/serve.js';
import { tokenFor } from '../audit/served.js';
import { FIXTURES } from '../support/gateway.js';
import { rawRequest } from '../support/net.js';
import { startRedis, type TestRedis } from '../support/redis.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

const MFA_KEY = Buffer.alloc(32, 0x5a).toString('base64');
const REDIS_PASSWORD = 'p@ss:w0rd-redis';
const CODE = '918273';

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
/** A JWT-shaped value no key signed. */
const FAKE_TOKEN = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ iss: 'https://idp.test', sub: 'mallory' })}.${b64('not a signature, but long enough')}`;

/** The pieces of a token no log line may hold: its payload and signature, and their ends. */
function piecesOf(token: string): string[] {
  const [, payload = '', signature = ''] = token.split('.');
  return [payload, signature, payload.slice(0, 16), payload.slice(-16), signature.slice(0, 16), signature.slice(-16)];
}

/** What of `secrets` (and of `tokens`' pieces) the text still holds: empty when nothing. */
function leaked(text: string, tokens: readonly string[], secrets: readonly string[]): string[] {
  return [...tokens.flatMap(piecesOf), ...secrets].filter((piece) => text.includes(piece));
}

/** A development configuration with a file trail and the MFA key as its secret, with its `upstream` and `policies` lines. */
function configText(upstream: string, policies: string): string {
  return [
    'version: 1',
    'mode: development',
    'listen: { host: 127.0.0.1, port: 0 }',
    'operations: { host: 127.0.0.1, port: 0 }',
    upstream,
    policies,
    'audit: { sink: file, file: { path: trail.jsonl } }',
    'auth:',
    '  stateDir: state',
    `  mfa: { encryptionKey: "${MFA_KEY}" }`,
    '  issuers:',
    '    - { name: dev, issuer: "https://dev.test", audiences: [iamgate], algorithms: [ES256], keyFile: dev-key.json, developmentKey: true }',
    '',
  ].join('\n');
}

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString('utf8'));
      done();
    },
  });
  return { lines, stream };
}

describe('a line written by the logger iamgate serve creates', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  }, 30_000);
  afterAll(async () => {
    await redis?.close();
  });

  const secrets = configuredSecrets({ redis: { url: `redis://default:${encodeURIComponent(REDIS_PASSWORD)}@127.0.0.1:6379/0`, sentinel: undefined }, auth: { mfa: { encryptionKey: MFA_KEY } } } as Parameters<typeof configuredSecrets>[0]);

  it('names the Redis password as the URL spells it and decoded, and the MFA key, as the configuration’s secrets', () => {
    expect(secrets).toEqual([encodeURIComponent(REDIS_PASSWORD), REDIS_PASSWORD, MFA_KEY]);
  });

  it('holds no token, code or secret from an error a library made of input that held them', async () => {
    const { lines, stream } = capture();
    const logger = createLogger('trace', stream, secrets);
    const planted = `${FAKE_TOKEN} ${CODE} ${MFA_KEY} ${REDIS_PASSWORD}`;

    // The YAML loader quotes the line it failed on.
    let yamlError: unknown;
    try {
      parseYaml(`policies: ${FAKE_TOKEN} ${CODE}: nested`);
    } catch (err) {
      yamlError = err;
    }
    // It cuts a long line short: the token's payload begins in the excerpt, its second dot does not.
    expect(String(yamlError)).toContain(piecesOf(FAKE_TOKEN)[2]);
    logger.error({ err: yamlError }, 'configuration not read');

    // ioredis keeps the refused command's arguments on its error, which pino writes out.
    const client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await client.connect();
    const refused = await client.call('HSET', `iamgate:totp:${CODE}`, planted).catch((err: unknown) => err);
    client.disconnect();
    expect(JSON.stringify(refused)).toContain(FAKE_TOKEN);
    logger.warn({ err: refused }, 'authentication background error');

    // A child logger's bindings, a message, and a JSON body quoted in a message.
    logger.child({ caller: planted }).info(`rejected ${planted}`);
    logger.info({ body: `{"TokenCode":"${CODE}","WebIdentityToken":"${FAKE_TOKEN}"}` }, 'sts body');
    logger.info({ codeAfterNewline: `line\n${CODE}`, urlEncoded: encodeURIComponent(REDIS_PASSWORD) }, 'escaped');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));

    const text = lines.join('');
    expect(text.split('\n').filter(Boolean)).toHaveLength(5);
    expect(leaked(text, [FAKE_TOKEN], [CODE, MFA_KEY, REDIS_PASSWORD, encodeURIComponent(REDIS_PASSWORD)])).toEqual([]);
    expect(text).toContain('[redacted]');
  });

  it('keeps numbers iamgate wrote, digits inside longer words, and identifiers (request ids, audit chain ids, key ids) as they are', async () => {
    const { lines, stream } = capture();
    const logger = createLogger('info', stream, secrets);
    const kept = {
      requestId: '6f1c2a3b-1234-4567-8901-123456789012',
      cooldownMs: 300_000,
      bytesIn: 918_273,
      digest: `ab${CODE}cd`,
      order: `/orders/${CODE}7`,
      // An audit chain's id ends in three random bytes in hex: all six of them digits one time in seventeen.
      auditChain: `orders-7c9f-1796630454992-${CODE}`,
      kid: `qPYL3wrmbhI2GT2C_${CODE}-DumoVZokI0`,
    };
    logger.info(kept, 'kept');
    await new Promise<void>((resolve) => logger.flush(() => resolve()));
    const line = JSON.parse(lines.join('')) as Record<string, unknown>;
    expect(line).toMatchObject({ ...kept, msg: 'kept' });
  });
});

describe('the log of a served gateway', () => {
  let dir: string;
  let upstream: TestUpstream;
  let served: Iamgate;
  let configFile: string;
  let directoryFile: string;
  const logged = capture();
  /** The gateway's clock: Date.now at start, moved on by hand to the next TOTP step. */
  let clock = Date.now();

  beforeAll(async () => {
    upstream = await startTestUpstream();
    dir = await mkdtemp(join(tmpdir(), 'iamgate-logged-credentials-'));
    await mkdir(join(dir, 'policies'));
    directoryFile = join(dir, 'policies', 'directory.yaml');
    await cp(FIXTURES.directory, directoryFile);
    await cp(FIXTURES.routes, join(dir, 'policies', 'routes.yaml'));
    configFile = join(dir, 'iamgate.yaml');
    await writeFile(
      configFile,
      configText(`upstream: { url: "${upstream.url}" }`, 'policies: { directory: policies/directory.yaml, routes: policies/routes.yaml, watch: false }'),
    );
    const loaded = await loadConfig({ file: configFile, env: {} });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
    // As `iamgate serve` builds its logger: at the most detailed level, with the configuration's secrets.
    served = await createIamgate(loaded.config, { now: () => clock, logger: createLogger('trace', logged.stream, configuredSecrets(loaded.config)) });
    const first = await served.gateway.initialLoad;
    if (!first.ok) throw new Error(first.problems.join('\n'));
  }, 30_000);

  afterAll(async () => {
    await served?.stop(1000);
    await upstream?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('holds no STS session token, bearer token, TOTP code or configured secret planted in a policy file or a request', async () => {
    const carol = await tokenFor(configFile, 'carol');
    // An STS session token, issued as a caller gets one: enrol a TOTP device, then GetSessionToken with a code of the next step.
    const sts = async (path: string, body: unknown): Promise<Record<string, unknown>> => {
      const res = await rawRequest(`${served.gateway.url}/.iamgate/sts/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${carol}` }, body: JSON.stringify(body) });
      expect([path, res.status]).toEqual([path, 200]);
      return JSON.parse(res.body) as Record<string, unknown>;
    };
    const secret = String((await sts('mfa/enroll', {}))['SecretBase32']);
    await sts('mfa/confirm', { TokenCode: await generate({ secret, epoch: Math.floor(clock / 1000) }) });
    clock += 30_000;
    const totpCode = await generate({ secret, epoch: Math.floor(clock / 1000) });
    const issued = await sts('GetSessionToken', { TokenCode: totpCode });
    const sessionToken = String((issued['Credentials'] as { SessionToken: string }).SessionToken);
    expect(sessionToken.startsWith('eyJ')).toBe(true);

    // A reload that fails quotes the values at fault: here every credential at once.
    const planted = [sessionToken, carol, FAKE_TOKEN, CODE, totpCode, MFA_KEY];
    const text = await readFile(directoryFile, 'utf8');
    await writeFile(directoryFile, text.replace('Effect: Allow', `Effect: "${planted.join(' ')}"`).replace('orders:GetOrder,', `orders:GetOrder, "${sessionToken}", "${CODE}",`));
    const report = await served.gateway.reload();
    expect(report.ok).toBe(false);
    // The same problems are shown on the operations port, to whoever reads /readyz and to the
    // operator who asked for the reload: redacted there as in the log.
    const ops = served.gateway.opsUrl;
    const shown = [JSON.stringify(report.problems), await (await fetch(`${ops}/readyz`)).text(), await (await fetch(`${ops}/v1/policies/reload`, { method: 'POST' })).text()].join('\n');
    expect(shown).toContain('INVALID_EFFECT');
    expect(leaked(shown, [sessionToken, carol, FAKE_TOKEN], [CODE, totpCode, MFA_KEY])).toEqual([]);

    // A refusal's detail quotes an unverified token's issuer.
    const naming = `${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ iss: `https://idp.test/${CODE}/${MFA_KEY}/${sessionToken}`, sub: 'carol' })}.${b64('sig')}`;
    expect((await rawRequest(`${served.gateway.url}/orders/1`, { headers: { authorization: `Bearer ${naming}` } })).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const log = logged.lines.join('');
    expect(log).toContain('policy reload failed');
    expect(log).toContain('request rejected');
    expect(leaked(log, [sessionToken, carol, FAKE_TOKEN], [CODE, totpCode, MFA_KEY])).toEqual([]);
  });
});

describe('what iamgate serve prints on standard error when it cannot start', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-serve-stderr-'));
    await mkdir(join(dir, 'policies'));
    const directory = await readFile(FIXTURES.directory, 'utf8');
    await writeFile(join(dir, 'policies', 'directory.yaml'), directory.replace('Effect: Allow', `Effect: "${FAKE_TOKEN} ${CODE}"`));
    await cp(FIXTURES.routes, join(dir, 'policies', 'routes.yaml'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function serve(config: string): Promise<{ code: number; text: string }> {
    const file = join(dir, `iamgate-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, config);
    const lines: string[] = [];
    const code = await runCli(['serve', '--config', file], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    return { code, text: lines.join('\n') };
  }

  it('names the problem of a configuration value without the token or code the value holds', async () => {
    const { code, text } = await serve(configText(`upstream: { url: "http://${FAKE_TOKEN}/${CODE}" }`, 'policies: { directory: policies/directory.yaml, routes: policies/routes.yaml }'));
    expect(code).not.toBe(0);
    expect(text).toContain('upstream.url');
    expect(text).toContain('[redacted]');
    expect(leaked(text, [FAKE_TOKEN], [CODE])).toEqual([]);
  });

  it('names the problem of a configuration value without the token or code it holds in iamgate token too', async () => {
    const file = join(dir, 'iamgate-token.yaml');
    await writeFile(file, configText(`upstream: { url: "http://${FAKE_TOKEN}/${CODE}" }`, 'policies: { directory: policies/directory.yaml, routes: policies/routes.yaml }'));
    const lines: string[] = [];
    const code = await runCli(['token', 'alice', '--config', file], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
    const text = lines.join('\n');
    expect(code).not.toBe(0);
    expect(text).toContain('upstream.url');
    expect(leaked(text, [FAKE_TOKEN], [CODE])).toEqual([]);
  });

  it('names the problems of the policies it could not load without the tokens, codes or secrets they quote', async () => {
    const { code, text } = await serve(configText('upstream: { url: "http://127.0.0.1:9" }', 'policies: { directory: policies/directory.yaml, routes: policies/routes.yaml, watch: false }'));
    expect(code).not.toBe(0);
    expect(text).toContain('INVALID_EFFECT');
    expect(leaked(text, [FAKE_TOKEN], [CODE, MFA_KEY])).toEqual([]);
  });
});
