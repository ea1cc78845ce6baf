// docs/kubernetes.md's walkthrough, replayed without a cluster: keys made as the page makes them,
// the example policies rewritten for the cluster's issuer and laid out through the values'
// ConfigMap items, the walkthrough's iamgate.yaml with its mount paths moved into a temporary
// folder, a real redis-server, and `iamgate serve` as a real process in front of an upstream.
// The calls and the answers are the ones the page shows.
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { generate } from 'otplib';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startRedis, type TestRedis } from '../support/redis.js';
import { chartDir, coalesce, defaultValues, readText, readYaml, repoRoot } from './chart.js';
import { mintToken, startServe, type ServeProcess } from './serve-process.js';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';
import { holdsWithin } from '../support/until.js';
const PEOPLE = 'https://people.walkthrough.example';
const CLUSTER = 'https://kubernetes.default.svc.cluster.local';

interface WalkthroughValues {
  config: { file: Record<string, unknown> };
  policies: { items: { key: string; path: string }[] };
}

const values = coalesce(
  defaultValues(),
  readYaml(join(chartDir, 'ci', 'walkthrough-values.yaml')),
) as WalkthroughValues;

let work = '';
let redis: TestRedis;
let upstream: Server;
let upstreamHits = 0;
let server: ServeProcess;
let peopleKey: JWK;
let clusterKey: CryptoKey;

/** Section 3: the people issuer's key pair, the cluster's service-account keys, iamgate's own keys. */
async function makeSecrets(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const people = await generateKeyPair('ES256', { extractable: true });
  peopleKey = { ...(await exportJWK(people.privateKey)), kid: 'walkthrough-1', alg: 'ES256' };
  const peoplePublic = { ...(await exportJWK(people.publicKey)), kid: 'walkthrough-1', alg: 'ES256', use: 'sig' };
  await writeFile(join(dir, 'people-jwks.json'), JSON.stringify({ keys: [peoplePublic] }));
  const cluster = await generateKeyPair('RS256', { extractable: true });
  clusterKey = cluster.privateKey;
  const clusterPublic = { ...(await exportJWK(cluster.publicKey)), kid: 'cluster-1', alg: 'RS256', use: 'sig' };
  await writeFile(join(dir, 'cluster-jwks.json'), JSON.stringify({ keys: [clusterPublic] }));
  const sts = await generateKeyPair('ES256', { extractable: true });
  const ring = { keys: [{ ...(await exportJWK(sts.privateKey)), kid: 'sts-1', alg: 'ES256', activeFrom: 0 }] };
  await writeFile(join(dir, 'sts-signing.json'), JSON.stringify(ring));
  await writeFile(join(dir, 'mfa-key'), Buffer.alloc(32, 7).toString('base64'));
}

/** Section 5: the ConfigMap made from the example policies (trust policy rewritten), mounted through the items. */
async function mountPolicies(dir: string): Promise<string[]> {
  const configMap = new Map<string, string>();
  for (const name of ['directory.yaml', 'routes.yaml']) {
    const text = await readFile(join(repoRoot, 'policies', name), 'utf8');
    configMap.set(name, text.replaceAll('kubernetes.default.svc', CLUSTER.replace('https://', '')));
  }
  for (const name of await readdir(join(repoRoot, 'policies', 'policies'))) {
    configMap.set(name, await readFile(join(repoRoot, 'policies', 'policies', name), 'utf8'));
  }
  const unused = new Set(configMap.keys());
  for (const item of values.policies.items) {
    const text = configMap.get(item.key);
    if (text === undefined) throw new Error(`items name a key the ConfigMap lacks: ${item.key}`);
    unused.delete(item.key);
    await mkdir(dirname(join(dir, item.path)), { recursive: true });
    await writeFile(join(dir, item.path), text);
  }
  return [...unused];
}

async function person(name: string): Promise<string> {
  const key = (await importJWK(peopleKey, 'ES256')) as CryptoKey;
  return mintToken({ iss: PEOPLE, sub: name, aud: 'orders' }, key, 'walkthrough-1', 'ES256');
}

function workload(sub: string): Promise<string> {
  return mintToken({ iss: CLUSTER, sub, aud: 'iamgate' }, clusterKey, 'cluster-1', 'RS256');
}

function call(method: string, path: string, token?: string, json?: unknown): ReturnType<ServeProcess['call']> {
  return server.call(method, path, token, json);
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'iamgate-walkthrough-'));
  redis = await startRedis();
  await makeSecrets(join(work, 'secrets'));
  const unusedKeys = await mountPolicies(join(work, 'policies'));
  if (unusedKeys.length > 0) throw new Error(`the walkthrough's items leave out ${unusedKeys.join(', ')}`);
  await mkdir(join(work, 'state'));

  const moved = JSON.stringify(values.config.file)
    .replaceAll('/etc/iamgate-secrets/', `${join(work, 'secrets')}/`)
    .replaceAll('/app/policies/', `${join(work, 'policies')}/`)
    .replaceAll('/var/lib/iamgate', join(work, 'state'));
  const configFile = join(work, 'iamgate.yaml');
  await writeFile(configFile, stringify(JSON.parse(moved)));

  upstream = createServer((_req, res) => {
    upstreamHits += 1;
    res.end('hello from the orders service');
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const address = upstream.address();
  const upstreamPort = typeof address === 'object' && address !== null ? address.port : 0;

  server = await startServe(configFile, {
    IAMGATE_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
    REDIS_URL: redis.url,
  });
  // /readyz can answer 200 a moment before the revocation state has first been read from Redis;
  // until then authenticated calls get 503 revocation_unavailable. Wait for that state.
  const probe = await person('bob');
  if (!(await holdsWithin(async () => (await call('GET', '/', probe)).status !== 503, 20_000))) {
    throw new Error(`revocation state never loaded:\n${server.log()}`);
  }
}, CHILD_PROCESS_TEST_MS);

afterAll(async () => {
  server?.kill();
  upstream?.close();
  await redis?.stop();
  if (work !== '') await rm(work, { recursive: true, force: true });
});

describe('the walkthrough of docs/kubernetes.md', () => {
  it('the page creates the policies ConfigMap and the Secret with the names the values use', () => {
    const page = readText(join(repoRoot, 'docs', 'kubernetes.md'));
    expect(page).toContain('kubectl -n shop create configmap orders-policies');
    expect(page).toContain("sed 's/kubernetes\\.default\\.svc/kubernetes.default.svc.cluster.local/g' policies/directory.yaml");
    expect(page).toContain('--from-file=walkthrough/policies/ --from-file=policies/policies/');
    expect(page).toContain('kubectl -n shop create secret generic iamgate-keys');
    for (const name of ['people-jwks.json', 'cluster-jwks.json', 'sts-signing.json', 'mfa-key']) {
      expect(page).toContain(`--from-file=${name}=walkthrough/${name}`);
    }
  });

  it('section 3: the STS signing key from the Secret is in use: its public key is published', async () => {
    const res = await fetch(`http://127.0.0.1:${server.gatewayPort}/.well-known/jwks.json`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual(['sts-1']);
  });

  it('section 6: an anonymous call is refused with 401 and a Bearer challenge', async () => {
    const res = await call('GET', '/orders/42');
    expect(res.status).toBe(401);
    expect(res.auth).toMatch(/^Bearer/);
  });

  it('section 6: bob reads an order; the answer is the service behind iamgate', async () => {
    const res = await call('GET', '/orders/42', await person('bob'));
    expect(res).toMatchObject({ status: 200, body: 'hello from the orders service' });
  });

  it('section 6: bob may not create an order, alice may', async () => {
    const bob = await call('POST', '/orders', await person('bob'));
    expect(bob.status).toBe(403);
    expect(JSON.parse(bob.body)).toMatchObject({ error: 'AccessDenied', action: 'orders:CreateOrder' });
    expect((await call('POST', '/orders', await person('alice'))).status).toBe(200);
  });

  it('section 6: deleting is denied to alice outright and to carol until she presents MFA', async () => {
    const alice = await call('DELETE', '/orders/42', await person('alice'));
    expect(alice.status).toBe(403);
    expect(JSON.parse(alice.body)).toMatchObject({ reason: 'implicit_deny' });
    const carol = await call('DELETE', '/orders/42', await person('carol'));
    expect(carol.status).toBe(403);
    expect(JSON.parse(carol.body)).toMatchObject({ reason: 'mfa_required' });
  });

  it('section 6: carol enrols TOTP, gets an MFA session from the STS endpoint, and may then delete', async () => {
    const carol = await person('carol');
    const enrol = await call('POST', '/.iamgate/sts/mfa/enroll', carol, {});
    expect(enrol.status, enrol.body).toBe(200);
    const secret = (JSON.parse(enrol.body) as { SecretBase32: string }).SecretBase32;
    const step = Math.floor(Date.now() / 1000);
    const confirm = await call('POST', '/.iamgate/sts/mfa/confirm', carol, { TokenCode: await generate({ secret, epoch: step }) });
    expect(confirm.status, confirm.body).toBe(200);
    // The next step's code: a code is accepted once, and the window admits one step ahead.
    const code = await generate({ secret, epoch: step + 30 });
    const session = await call('POST', '/.iamgate/sts/GetSessionToken', carol, { TokenCode: code });
    expect(session.status, session.body).toBe(200);
    const token = (JSON.parse(session.body) as { Credentials: { SessionToken: string } }).Credentials.SessionToken;
    expect((await call('DELETE', '/orders/42', token)).status).toBe(200);
  });

  it('section 7: the orders-worker service account acts as OrdersWorker: reads, but does not write', async () => {
    const token = await workload('system:serviceaccount:orders:orders-worker');
    expect((await call('GET', '/orders/42', token)).status).toBe(200);
    expect((await call('POST', '/orders', token)).status).toBe(403);
  });

  it('section 7: the service-account token can also be exchanged once for a role session', async () => {
    const exchange = await call('POST', '/.iamgate/sts/AssumeRoleWithWebIdentity', undefined, {
      RoleArn: 'arn:aws:iam::111122223333:role/OrdersWorker',
      RoleSessionName: 'worker',
      WebIdentityToken: await workload('system:serviceaccount:orders:orders-worker'),
    });
    expect(exchange.status, exchange.body).toBe(200);
    const answer = JSON.parse(exchange.body) as { Credentials: { SessionToken: string }; AssumedRoleUser: { Arn: string } };
    expect(answer.AssumedRoleUser.Arn).toBe('arn:aws:sts::111122223333:assumed-role/OrdersWorker/worker');
    expect((await call('POST', '/orders', answer.Credentials.SessionToken)).status).toBe(403);
  });

  it('section 7: another service account is trusted by no role and gets 401', async () => {
    const res = await call('GET', '/orders/42', await workload('system:serviceaccount:orders:someone-else'));
    expect(res.status).toBe(401);
  });

  it('only the allowed calls reached the service, and SIGTERM stops iamgate with exit code 0', async () => {
    expect(upstreamHits).toBe(4); // bob's read, alice's create, carol's MFA delete, the worker's read
    server.signal('SIGTERM');
    expect(await server.exit).toBe(0);
  });
});
