// A session revoked on an instance without Redis, then the instance restarted (a deploy, a crash,
// an eviction): the revocation used to live in memory only, so the restarted instance honoured the
// revoked token again until its exp. The gateway is assembled as `iamgate serve` assembles it from
// a configuration file, stopped, and assembled again from the same files.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { tokenFor, writeServedConfig, type ServedFiles } from '../audit/served.js';
import { FIXTURES } from '../support/gateway.js';
import { rawRequest } from '../support/net.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';
import { serveConfigFile } from './support/served.js';

const ALICE = 'arn:aws:iam::111122223333:user/alice';

describe('a revocation on an instance without Redis', () => {
  let upstream: TestUpstream;
  let files: ServedFiles;
  let served: Iamgate | undefined;
  let alice: string;

  beforeAll(async () => {
    upstream = await startTestUpstream();
    files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url });
    // The fixtures' directory, with alice also allowed to revoke sessions.
    const directory = join(files.dir, 'policies', 'directory.yaml');
    await mkdir(join(files.dir, 'policies'));
    const fixtures = await readFile(FIXTURES.directory, 'utf8');
    await writeFile(directory, fixtures.replace('          - Sid: PublicFiles', '          - Sid: Revoke\n            Effect: Allow\n            Action: iamgate:RevokeSessions\n            Resource: "*"\n          - Sid: PublicFiles'));
    // A clock tolerance of 1 s: a new session must be issued past the revocation by the largest
    // tolerance (here STS's own 5 s) before it is honoured, and the test waits that long.
    const config = (await readFile(files.config, 'utf8')).replace(`directory: "${FIXTURES.directory}"`, `directory: "${directory}"`).replace('developmentKey: true }', 'developmentKey: true, clockToleranceSeconds: 1 }');
    await writeFile(files.config, config);
    served = await serveConfigFile(files.config);
    alice = await tokenFor(files.config, 'alice');
  }, 30_000);

  afterAll(async () => {
    await served?.stop(1000);
    await upstream?.close();
    await files?.remove();
  });

  const status = async (): Promise<{ status: number; code: unknown }> => {
    const res = await rawRequest(`${served!.gateway.url}/orders/1`, { headers: { authorization: `Bearer ${alice}` } });
    return { status: res.status, code: res.status === 200 ? undefined : (JSON.parse(res.body) as Record<string, unknown>)['code'] };
  };

  it('still refuses the revoked session once the instance has restarted', async () => {
    expect(await status()).toEqual({ status: 200, code: undefined });
    // Sessions issued before the revocation's time are refused: let alice's token's second pass.
    await new Promise((r) => setTimeout(r, 1100));
    const revoked = await rawRequest(`${served!.gateway.url}/.iamgate/sts/RevokeSessions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${alice}` },
      body: JSON.stringify({ PrincipalArn: ALICE }),
    });
    expect(revoked.status).toBe(200);
    expect(await status()).toEqual({ status: 401, code: 'session_revoked' });

    await served!.stop(1000);
    served = undefined;
    served = await serveConfigFile(files.config);
    expect(await status()).toEqual({ status: 401, code: 'session_revoked' });
    // A session issued after the revocation and the largest clock tolerance (5 s: an issue time up to
    // that far after the revocation may come from a clock running ahead), plus a second for an issue
    // time written in whole seconds, is honoured, as before the restart.
    await new Promise((r) => setTimeout(r, 6_100));
    alice = await tokenFor(files.config, 'alice');
    expect(await status()).toEqual({ status: 200, code: undefined });
  }, 30_000);

  it('refuses to start over a revocations file it cannot read, rather than start with none', async () => {
    await served!.stop(1000);
    served = undefined;
    await writeFile(join(files.dir, '.iamgate-state', 'revocations.json'), '{"revocations": ');
    await expect(serveConfigFile(files.config)).rejects.toThrow(/revocations\.json/);
  }, 30_000);

  it('refuses to start over a TOTP state file it cannot read, rather than start with no replay marks or lockouts', async () => {
    await writeFile(join(files.dir, '.iamgate-state', 'revocations.json'), '{}\n');
    await writeFile(join(files.dir, '.iamgate-state', 'mfa-attempts.json'), '{"mfa:lock:alice": {"value": "1", "expiresAt": "never"}}');
    await expect(serveConfigFile(files.config)).rejects.toThrow(/mfa-attempts\.json/);
  }, 30_000);
});
