// Renders the chart with a real Helm binary (HELM=/path/to/helm, or the pinned one that
// test/support/helm.ts takes from a registry package) and checks the manifests it produces.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { readConfig } from '../../src/app/index.js';
import { formatProblems } from '../../src/config/index.js';
import { obtainHelm } from '../support/helm.js';
import { badValuesDir, chartDir, filesBelow } from './chart.js';

const helm = obtainHelm();

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface Container {
  name: string;
  ports?: { name: string; containerPort: number }[];
  securityContext?: Record<string, unknown>;
  livenessProbe?: { httpGet?: { port: string; path: string } };
  readinessProbe?: { httpGet?: { port: string; path: string } };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  env?: { name: string; value?: string }[];
}

function render(args: readonly string[]): Manifest[] {
  const out = execFileSync(helm, ['template', 'demo', chartDir, '--namespace', 'shop', ...args], {
    encoding: 'utf8',
  });
  return parseAllDocuments(out)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function helmFails(args: readonly string[]): string | undefined {
  const run = spawnSync(helm, ['template', 'demo', chartDir, ...args], { encoding: 'utf8' });
  return run.status === 0 ? undefined : run.stderr;
}

function podSpec(manifests: readonly Manifest[]): { containers: Container[]; volumes: { name: string }[] } {
  const deployment = manifests.find((m) => m.kind === 'Deployment');
  const template = deployment?.spec?.['template'] as { spec: { containers: Container[]; volumes: { name: string }[] } };
  return template.spec;
}

const sidecar = ['--set', 'app.image.repository=registry.example.internal/orders'];

describe(`the chart rendered by ${helm}`, () => {
  it.each(filesBelow(join(chartDir, 'ci')))('passes helm lint with ci/%s', (name) => {
    const run = spawnSync(helm, ['lint', chartDir, '-f', join(chartDir, 'ci', name)], { encoding: 'utf8' });
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it.each(filesBelow(badValuesDir))('refuses bad values %s', (name) => {
    expect(helmFails(['-f', join(badValuesDir, name)])).toMatch(/schema|must|value/i);
  });

  it('refuses an app port that collides with iamgate in the same pod', () => {
    expect(helmFails([...sidecar, '--set', 'app.port=8400'])).toContain('app.port must differ');
  });

  it('renders the sidecar pod: the Service targets iamgate, the service has no port of its own', () => {
    const manifests = render(sidecar);
    const service = manifests.find((m) => m.kind === 'Service');
    expect(service?.spec?.['ports']).toEqual([{ name: 'http', port: 80, targetPort: 'gateway', protocol: 'TCP' }]);
    const { containers } = podSpec(manifests);
    expect(containers.map((c) => c.name)).toEqual(['app', 'iamgate']);
    expect(containers[0]?.ports).toBeUndefined();
    const gate = containers[1];
    expect(gate?.ports?.map((p) => [p.name, p.containerPort])).toEqual([['gateway', 8400], ['ops', 8401]]);
    expect(gate?.env).toContainEqual({ name: 'IAMGATE_UPSTREAM', value: 'http://127.0.0.1:8080' });
    expect(gate?.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    expect(gate?.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'ops' });
  });

  it('renders iamgate hardened: non-root, read-only root, no escalation, no capabilities, RuntimeDefault', () => {
    for (const args of [sidecar, ['--set', 'mode=forwardAuth']]) {
      const gate = podSpec(render(args)).containers.find((c) => c.name === 'iamgate');
      expect(gate?.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
        seccompProfile: { type: 'RuntimeDefault' },
      });
      const writable = gate?.volumeMounts?.filter((m) => m.readOnly !== true).map((m) => m.mountPath);
      expect(writable).toEqual(['/tmp', '/var/lib/iamgate']);
    }
  });

  it('renders forward-auth mode as iamgate alone, without an upstream', () => {
    const manifests = render(['--set', 'mode=forwardAuth']);
    const { containers } = podSpec(manifests);
    expect(containers.map((c) => c.name)).toEqual(['iamgate']);
    expect(containers[0]?.env?.map((e) => e.name)).not.toContain('IAMGATE_UPSTREAM');
  });

  it('creates no Secret in any configuration', () => {
    for (const name of filesBelow(join(chartDir, 'ci'))) {
      const kinds = render(['-f', join(chartDir, 'ci', name)]).map((m) => m.kind);
      expect(kinds).not.toContain('Secret');
    }
  });

  it('mounts policy files given in values over the image examples, keeping their folders', () => {
    const manifests = render(['-f', join(chartDir, 'ci', 'sidecar-values.yaml')]);
    const { volumes } = podSpec(manifests);
    expect(volumes).toContainEqual({
      name: 'policies',
      configMap: { name: 'demo-iamgate-policies', items: [{ key: 'policies--orders-read.json', path: 'policies/orders-read.json' }] },
    });
    const configMap = manifests.find((m) => m.metadata.name === 'demo-iamgate-policies') as unknown as {
      data: Record<string, string>;
    };
    expect(JSON.parse(configMap.data['policies--orders-read.json'] ?? '')).toMatchObject({ Version: '2012-10-17' });
  });

  it('rolls pods when iamgate.yaml changes, and when the policy files change only when asked to', () => {
    const annotations = (args: readonly string[]): Record<string, string> => {
      const deployment = render(args).find((m) => m.kind === 'Deployment');
      const template = deployment?.spec?.['template'] as { metadata: { annotations: Record<string, string> } };
      return template.metadata.annotations;
    };
    const rolling = [...sidecar, '--set', 'policies.rollOnChange=true'];
    const withPolicies = [...rolling, '--set-string', 'policies.files.extra\\.json={}'];
    const base = annotations(withPolicies);
    const policy = annotations([...rolling, '--set-string', 'policies.files.extra\\.json={"Version":"2012-10-17"}']);
    const config = annotations([...withPolicies, '--set', 'config.file.note=changed']);
    expect(policy['checksum/config']).toBe(base['checksum/config']);
    expect(policy['checksum/policies']).not.toBe(base['checksum/policies']);
    expect(config['checksum/config']).not.toBe(base['checksum/config']);
    expect(annotations([...withPolicies, '--set', 'policies.rollOnChange=false'])['checksum/policies']).toBeUndefined();
    // By default iamgate reloads changed policy files in place: no checksum, no restart.
    expect(annotations([...sidecar, '--set-string', 'policies.files.extra\\.json={}'])['checksum/policies']).toBeUndefined();
    expect(annotations([...sidecar, '--set-string', 'policies.files.extra\\.json={}'])['checksum/config']).toBeDefined();
  });

  /** The iamgate.yaml the chart renders, as iamgate's own reader judges it. */
  function renderedConfigProblems(args: readonly string[]): string[] {
    const configMap = render(args).find((m) => m.metadata.name === 'demo-iamgate-config') as unknown as {
      data: { 'iamgate.yaml': string };
    };
    const load = readConfig(parse(configMap.data['iamgate.yaml']), {}, '/etc/iamgate/iamgate.yaml');
    return load.ok ? [] : formatProblems(load.problems);
  }

  it.each(filesBelow(join(chartDir, 'ci')))('renders an iamgate.yaml that iamgate accepts, with ci/%s', (name) => {
    expect(renderedConfigProblems(['-f', join(chartDir, 'ci', name)])).toEqual([]);
  });

  it('renders forward-auth mode with the decision endpoint turned on', () => {
    const configMap = render(['--set', 'mode=forwardAuth']).find((m) => m.metadata.name === 'demo-iamgate-config');
    const file = parse((configMap as unknown as { data: { 'iamgate.yaml': string } }).data['iamgate.yaml']) as {
      forwardAuth: { enabled: boolean };
    };
    expect(file.forwardAuth.enabled).toBe(true);
    expect(renderedConfigProblems(['--set', 'mode=forwardAuth'])).toEqual([]);
  });

  it('renders extAuthz mode as iamgate alone with its gRPC port behind the Service and in iamgate.yaml', () => {
    const args = ['--set', 'mode=extAuthz'];
    const manifests = render(args);
    const { containers } = podSpec(manifests);
    expect(containers.map((c) => c.name)).toEqual(['iamgate']);
    expect(containers[0]?.ports?.map((p) => [p.name, p.containerPort])).toEqual([['gateway', 8400], ['ops', 8401], ['grpc', 9191]]);
    const service = manifests.find((m) => m.kind === 'Service' && m.metadata.name === 'demo-iamgate');
    expect(service?.spec?.['ports']).toEqual([{ name: 'grpc', port: 9191, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' }]);
    const configMap = manifests.find((m) => m.metadata.name === 'demo-iamgate-config');
    const file = parse((configMap as unknown as { data: { 'iamgate.yaml': string } }).data['iamgate.yaml']) as { extAuthz: { grpc: { port: number } } };
    expect(file.extAuthz.grpc.port).toBe(9191);
    expect(renderedConfigProblems(args)).toEqual([]);
  });

  it('renders Sentinel settings that iamgate accepts', () => {
    expect(renderedConfigProblems(['-f', join(chartDir, 'ci', 'sentinel-values.yaml')])).toEqual([]);
  });

  // iamgate does not support Redis Cluster: its configuration reader refuses what the chart writes for it.
  it('renders Cluster settings that iamgate refuses, saying why', () => {
    const problems = renderedConfigProblems([...sidecar, '--set', 'redis.cluster.enabled=true', '--set', 'redis.cluster.nodes[0]=redis-0.redis:6379']);
    expect(problems.join('\n')).toContain('redis.cluster: Redis Cluster is not supported');
  });

  it('refuses the default values with a message that says which value to set', () => {
    const lint = spawnSync(helm, ['lint', chartDir], { encoding: 'utf8' });
    expect(lint.status).not.toBe(0);
    for (const out of [lint.stdout + lint.stderr, helmFails([])]) {
      expect(out).toContain("at '/app/image/repository': value must be 'your service\\'s image, which sidecar mode (the default) runs beside iamgate: --set app.image.repository=");
    }
    expect(helmFails(['--set', 'mode=forwardAuth'])).toBeUndefined();
  });

  it('refuses a Redis URL that carries a password, saying to use redis.existingSecret', () => {
    expect(helmFails([...sidecar, '--set', 'redis.url=redis://:hunter2@redis:6379/0'])).toContain(
      "at '/redis/url': value must be 'a URL without a password: put the URL with its password in a Secret and name it in redis.existingSecret",
    );
    expect(helmFails([...sidecar, '--set', 'redis.url=redis://redis:6379/0'])).toBeUndefined();
  });

  it('renders a PodDisruptionBudget that never blocks a drain with one replica, and keeps one pod up with more', () => {
    const budget = (args: readonly string[]): Record<string, unknown> | undefined => render([...sidecar, ...args]).find((m) => m.kind === 'PodDisruptionBudget')?.spec;
    expect(budget(['--set', 'replicaCount=1'])).toMatchObject({ maxUnavailable: 1 });
    expect(budget(['--set', 'replicaCount=1'])).not.toHaveProperty('minAvailable');
    expect(budget([])).toMatchObject({ minAvailable: 1 });
    expect(budget([])).not.toHaveProperty('maxUnavailable');
  });

  it('refuses a listen or operations port in config.file that the chart\'s IAMGATE_PORT or IAMGATE_OPS_PORT would override', () => {
    expect(helmFails([...sidecar, '--set', 'config.file.listen.port=9000'])).toContain('config.file.listen.port (9000) differs from iamgate.port (8400), which the chart gives iamgate as IAMGATE_PORT: set iamgate.port instead');
    expect(helmFails([...sidecar, '--set', 'config.file.operations.port=9001'])).toContain('config.file.operations.port (9001) differs from iamgate.opsPort (8401)');
    expect(helmFails([...sidecar, '--set', 'config.file.listen.port=9000', '--set', 'iamgate.port=9000'])).toBeUndefined();
  });

  it('gives the pod time for the preStop delay, the requests in flight and sealing the audit trail, and refuses a grace period shorter than their sum', () => {
    const deployment = render(sidecar).find((m) => m.kind === 'Deployment');
    const grace = (deployment?.spec?.['template'] as { spec: { terminationGracePeriodSeconds: number } }).spec.terminationGracePeriodSeconds;
    // docs/kubernetes.md and values.yaml name 45 s: 5 s preStop + 25 s grace + 10 s to seal, and room to spare.
    expect(grace).toBe(45);
    expect(helmFails([...sidecar, '--set', 'terminationGracePeriodSeconds=30'])).toContain(
      'terminationGracePeriodSeconds (30) is shorter than iamgate needs to stop: iamgate.preStopDelaySeconds (5) + config.file.shutdown.graceMs (25000 ms) + 10 s to close and seal the audit trail = 40 s',
    );
    expect(helmFails([...sidecar, '--set', 'terminationGracePeriodSeconds=30', '--set', 'config.file.shutdown.graceMs=15000'])).toBeUndefined();
  });

  it('refuses in extAuthz mode an extAuthz.grpc.port in config.file other than iamgate.grpcPort, which the container opens and the Service targets', () => {
    const extAuthz = ['--set', 'mode=extAuthz'];
    expect(helmFails([...extAuthz, '--set', 'config.file.extAuthz.grpc.port=9000'])).toContain(
      'config.file.extAuthz.grpc.port (9000) differs from iamgate.grpcPort (9191), the port the chart opens and its Service targets in extAuthz mode: set iamgate.grpcPort instead',
    );
    expect(helmFails([...extAuthz, '--set', 'config.file.extAuthz.grpc.port=9000', '--set', 'iamgate.grpcPort=9000', '--set', 'service.grpcPort=9000'])).toBeUndefined();
  });

  it('warns in the install notes that no caller can authenticate when no issuer is configured, and only then', () => {
    const notes = (args: readonly string[]): string =>
      execFileSync(helm, ['install', 'demo', chartDir, '--dry-run=client', '--namespace', 'shop', ...args], { encoding: 'utf8' });
    expect(notes(sidecar)).toContain('WARNING: NO CALLER CAN AUTHENTICATE. config.file.auth.issuers is empty');
    expect(notes(['-f', join(chartDir, 'ci', 'walkthrough-values.yaml')])).not.toContain('NO CALLER CAN AUTHENTICATE');
  });
});
