// `helm test`'s pod, rendered by real Helm, calls the Service on the port the Service has: the
// gateway port over HTTP, or in extAuthz mode (where the Service carries only gRPC) an anonymous
// ext_authz Check, whose script is run here against iamgate's real gRPC server.
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { useExtAuthzGateway } from '../extauthz/check.js';
import { obtainHelm } from '../support/helm.js';
import { freePort } from '../support/redis.js';
import { chartDir, repoRoot } from './chart.js';

const helm = obtainHelm();
const run = promisify(execFile);

interface Rendered {
  kind: string;
  metadata: { name: string };
  spec: { ports?: { port: number }[]; containers?: { args: string[]; env: { name: string; value: string }[] }[] };
}

function render(args: readonly string[]): Rendered[] {
  const out = execFileSync(helm, ['template', 'demo', chartDir, '--namespace', 'shop', ...args], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as Rendered | null)
    .filter((m): m is Rendered => m !== null);
}

/** The test pod's script and environment, and the main Service's ports. */
function testPod(args: readonly string[]): { script: string; env: Record<string, string>; servicePorts: number[] } {
  const manifests = render(args);
  const pod = manifests.find((m) => m.kind === 'Pod' && m.metadata.name === 'demo-iamgate-test-anonymous');
  const container = pod?.spec.containers?.[0];
  const service = manifests.find((m) => m.kind === 'Service' && m.metadata.name === 'demo-iamgate');
  return {
    script: container?.args[0] ?? '',
    env: Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value])),
    servicePorts: (service?.spec.ports ?? []).map((p) => p.port),
  };
}

/** Runs the pod's script as the pod would (node -e), from the repository (its node_modules stand for /app's). */
async function runScript(script: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: (failed.stdout ?? '') + (failed.stderr ?? '') };
  }
}

describe(`the helm test pod rendered by ${helm}`, () => {
  it('calls the Service over HTTP on the port the Service has, in sidecar and forwardAuth modes', () => {
    for (const args of [['--set', 'app.image.repository=registry.example.internal/orders'], ['--set', 'mode=forwardAuth']]) {
      const pod = testPod(args);
      expect(pod.env['TARGET']).toBe(`http://demo-iamgate.shop.svc:${pod.servicePorts[0]}/`);
      expect(pod.servicePorts).toEqual([80]);
    }
  });

  describe('in extAuthz mode', () => {
    const { gw } = useExtAuthzGateway();
    const pod = testPod(['--set', 'mode=extAuthz', '--set', 'service.grpcPort=9292', '--set', 'iamgate.grpcPort=9393']);

    it("asks the Service's gRPC port, the only one it has, with the definitions the image ships", () => {
      expect(pod.servicePorts).toEqual([9292]);
      expect(pod.env).toEqual({ TARGET: 'demo-iamgate.shop.svc:9292', PROTO_ROOT: '/app/proto' });
    });

    it("passes on iamgate's 401 to an anonymous Check, and fails where nothing answers", async () => {
      const proto = join(repoRoot, 'proto');
      const answered = await runScript(pod.script, { TARGET: gw.gateway.extAuthzAddress!, PROTO_ROOT: proto });
      expect(answered).toEqual({ code: 0, output: `Check on ${gw.gateway.extAuthzAddress!} -> 401\n` });
      const nobody = `127.0.0.1:${await freePort()}`;
      const refused = await runScript(pod.script, { TARGET: nobody, PROTO_ROOT: proto });
      expect(refused.code).toBe(1);
      expect(refused.output).toContain(`Check on ${nobody} failed: 14 UNAVAILABLE`);
    }, 60_000);
  });
});
