// `iamgate token`: mints development tokens the gateway's own authenticator accepts, and refuses
// to run against a configuration that is not marked `mode: development`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthRuntime, readAuthConfig } from '../../src/auth/index.js';
import { runToken } from '../../src/cli/token.js';
import { createPrincipalResolver } from '../../src/identity/index.js';
import { exampleDirectory, REPO } from './helpers.js';

function config(mode: 'development' | 'production', state: string): string {
  return `version: 1
mode: ${mode}
policies:
  directory: ${join(REPO, 'policies', 'directory.yaml')}
  routes: ${join(REPO, 'policies', 'routes.yaml')}
auth:
  stateDir: ${state}
  issuers:
    - name: dev
      issuer: https://dev.iamgate.local
      audiences: [iamgate]
      algorithms: [ES256]
      keyFile: ${join(state, 'dev-issuer.json')}
      ${mode === 'development' ? 'developmentKey: true' : ''}
      claims: { amrMfa: true }
`;
}

describe('iamgate token', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-token-'));
    await writeFile(join(dir, 'dev.yaml'), config('development', join(dir, 'state')));
    await writeFile(join(dir, 'prod.yaml'), config('production', join(dir, 'state')));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runToken(argv, { stdout: (l) => out.push(l), stderr: (l) => err.push(l) }, {});
    return { code, out, err };
  }

  it('prints a token that the gateway authenticator accepts as alice, with MFA when asked', async () => {
    const plain = await run(['alice', '--config', join(dir, 'dev.yaml')]);
    const mfa = await run(['carol', '--mfa', '--ttl', '15m', '--config', join(dir, 'dev.yaml')]);
    expect(plain.code).toBe(0);
    expect(mfa.code).toBe(0);
    const { config: auth } = readAuthConfig({ sts: { enabled: false }, issuers: [{ issuer: 'https://dev.iamgate.local', audiences: ['iamgate'], algorithms: ['ES256'], keyFile: join(dir, 'state', 'dev-issuer.json'), claims: { amrMfa: true } }] });
    const resolver = createPrincipalResolver(await exampleDirectory());
    const runtime = await createAuthRuntime({ config: auth!, baseDir: dir, resolver: () => resolver });
    try {
      const alice = await runtime.authenticator.authenticate({ authorization: `Bearer ${plain.out[0]}` });
      expect(alice).toMatchObject({ ok: true, principal: { arn: 'arn:aws:iam::111122223333:user/engineering/alice', mfa: false } });
      const carol = await runtime.authenticator.authenticate({ authorization: `Bearer ${mfa.out[0]}` });
      expect(carol).toMatchObject({ ok: true, principal: { name: 'carol', mfa: true } });
      if (carol.ok) expect(carol.principal.expiresAt - carol.principal.issuedAt).toBe(900_000);
    } finally {
      runtime.close();
    }
  });

  it('refuses a configuration that is not marked development', async () => {
    const res = await run(['alice', '--config', join(dir, 'prod.yaml')]);
    expect(res.code).toBe(1);
    expect(res.out).toEqual([]);
    expect(res.err.join('\n')).toMatch(/not a development configuration/);
  });

  it('refuses users the directory does not have, and bad arguments', async () => {
    expect((await run(['mallory', '--config', join(dir, 'dev.yaml')])).code).toBe(1);
    expect((await run(['alice', '--ttl', 'forever', '--config', join(dir, 'dev.yaml')])).code).toBe(2);
    expect((await run([])).code).toBe(2);
  });
});
