// `iamgate serve` with the gRPC ext_authz server: wired from the configuration file, answering
// health and checks as a real process, and refusing to start when peer identity names no
// workload issuer.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { devConfigYaml } from '../support/gateway.js';
import { extAuthzClient } from '../support/grpc.js';
import { canConnect } from '../support/net.js';
import { freePort } from '../support/redis.js';
import { mintBearer, serve, useTempDir, waitReady } from '../support/serve-process.js';

const tempDir = useTempDir('iamgate-extauthz-');

describe('iamgate serve with extAuthz.grpc', () => {
  it('refuses to start when peer identity names an issuer without webIdentity, saying which key', async () => {
    const [port, opsPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
    const file = join(tempDir(), 'bad.yaml');
    const extra = [`extAuthz: { grpc: { host: 127.0.0.1, port: ${grpcPort}, peerIdentity: { enabled: true, issuer: dev } } }`];
    await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: 'http://127.0.0.1:9', extra }));
    const lines: string[] = [];
    expect(await runCli(['serve', '--config', file], { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) })).toBe(1);
    expect(lines.join('\n')).toContain('extAuthz.grpc.peerIdentity.issuer: auth issuer "dev" has no webIdentity');
    expect(await canConnect(grpcPort)).toBe(false);
  });

  it('answers health and checks on the configured port, and stops on SIGTERM', async () => {
    const [port, opsPort, grpcPort] = [await freePort(), await freePort(), await freePort()];
    const file = join(tempDir(), 'iamgate.yaml');
    await writeFile(file, devConfigYaml({ port, opsPort, upstreamUrl: 'http://127.0.0.1:9', extra: [`extAuthz: { grpc: { host: 127.0.0.1, port: ${grpcPort} } }`] }));
    const child = serve(['--config', file]);
    const client = extAuthzClient(`127.0.0.1:${grpcPort}`);
    try {
      await waitReady(opsPort, child);
      expect(await client.health('')).toEqual({ status: 1 });
      const authorization = await mintBearer(file, 'alice');
      const answer = await client.check({ attributes: { request: { http: { method: 'GET', path: '/orders/1', host: 'orders', headers: { authorization } } } } });
      expect(answer.status?.code).toBe(0);
      child.process.kill('SIGTERM');
      expect(await child.exit).toBe(0);
      expect(await canConnect(grpcPort)).toBe(false);
    } finally {
      client.close();
      if (child.process.exitCode === null) child.process.kill('SIGKILL');
    }
  }, 120_000);
});
