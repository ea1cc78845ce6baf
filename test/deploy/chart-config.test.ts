// The iamgate.yaml that the chart and the image ship is a configuration iamgate accepts (checked
// with iamgate's own configuration reader, with the environment the chart sets), and what
// docs/kubernetes.md shows agrees with the chart: its values, its links, its sidecar patch.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readConfig } from '../../src/app/index.js';
import { formatProblems } from '../../src/config/index.js';
import { chartDir, coalesce, defaultValues, filesBelow, readText, readYaml, repoRoot } from './chart.js';

const chartEnv = {
  IAMGATE_PORT: '8400',
  IAMGATE_OPS_PORT: '8401',
  IAMGATE_UPSTREAM: 'http://127.0.0.1:8080',
  REDIS_URL: 'redis://redis.shop.svc.cluster.local:6379/0',
};

/** Problems iamgate's configuration reader (with its section validators) finds in a document. */
function problemsOf(doc: unknown): string[] {
  const load = readConfig(doc, chartEnv, '/etc/iamgate/iamgate.yaml');
  return load.ok ? [] : formatProblems(load.problems);
}

function configOf(valuesFile: string): unknown {
  const values = coalesce(defaultValues(), readYaml(valuesFile)) as { config: { file: unknown } };
  return values.config.file;
}

describe('the configuration shipped with the chart and the image', () => {
  it('the image configuration (deploy/iamgate.yaml) is accepted', () => {
    expect(problemsOf(readYaml(join(repoRoot, 'deploy', 'iamgate.yaml')))).toEqual([]);
  });

  it('the chart default config.file is accepted', () => {
    const values = defaultValues() as { config: { file: unknown } };
    expect(problemsOf(values.config.file)).toEqual([]);
  });

  it.each(filesBelow(join(chartDir, 'ci')))('the configuration of ci/%s is accepted', (name) => {
    expect(problemsOf(configOf(join(chartDir, 'ci', name)))).toEqual([]);
  });

  it('the Sentinel settings templates/configmap.yaml adds (ci/sentinel-values.yaml) are accepted, and Cluster settings refused', () => {
    const template = readText(join(chartDir, 'templates', 'configmap.yaml'));
    expect(template).toContain('set $redis "sentinel" (dict "masterName" .Values.redis.sentinel.masterName "nodes" .Values.redis.sentinel.nodes)');
    expect(template).toContain('set $redis "cluster" (dict "nodes" .Values.redis.cluster.nodes)');
    const file = join(chartDir, 'ci', 'sentinel-values.yaml');
    const values = coalesce(defaultValues(), readYaml(file)) as { redis: { sentinel: { masterName: string; nodes: string[] } } };
    const { masterName, nodes } = values.redis.sentinel;
    const written = (redis: unknown): unknown => ({ ...(configOf(file) as object), redis });
    expect(problemsOf(written({ sentinel: { masterName, nodes } }))).toEqual([]);
    expect(problemsOf(written({ cluster: { nodes: ['redis-0.redis:6379'] } })).join('\n')).toContain('redis.cluster: Redis Cluster is not supported');
  });

  it('the gRPC server settings templates/configmap.yaml adds in extAuthz mode (ci/extauthz-values.yaml) are accepted', () => {
    const template = readText(join(chartDir, 'templates', 'configmap.yaml'));
    expect(template).toContain('(dict "host" "0.0.0.0" "port" (int .Values.iamgate.grpcPort))');
    const file = join(chartDir, 'ci', 'extauthz-values.yaml');
    const values = coalesce(defaultValues(), readYaml(file)) as { mode: string; iamgate: { grpcPort: number } };
    expect(values.mode).toBe('extAuthz');
    const written = { ...(configOf(file) as object), extAuthz: { grpc: { host: '0.0.0.0', port: values.iamgate.grpcPort } } };
    expect(problemsOf(written)).toEqual([]);
    expect(problemsOf({ ...written, extAuthz: { grpc: { port: 'grpc' } } }).join('\n')).toContain('extAuthz.grpc.port');
  });

  it('a configuration with a mistake is refused, so the checks above can fail', () => {
    expect(problemsOf({ version: 1, mode: 'production', listen: { prot: 8400 } }).join('\n')).toContain('listen.prot');
    const noKeys = { version: 1, auth: { issuers: [{ issuer: 'https://idp.example', audiences: ['x'] }] } };
    expect(problemsOf(noKeys).join('\n')).toContain('jwksUrl or keyFile');
  });
});

describe('docs/kubernetes.md', () => {
  it('shows the walkthrough values exactly as in ci/walkthrough-values.yaml', () => {
    const file = readText(join(chartDir, 'ci', 'walkthrough-values.yaml'));
    const body = file.split('\n').filter((line) => !line.startsWith('#')).join('\n').trim();
    expect(readText(join(repoRoot, 'docs', 'kubernetes.md'))).toContain(body);
  });
});

describe('the links of docs/kubernetes.md', () => {
  it('point at files that exist in the repository', () => {
    const page = readText(join(repoRoot, 'docs', 'kubernetes.md'));
    const targets = [...page.matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)]
      .map((m) => m[1] ?? '')
      .filter((target) => !/^[a-z]+:/.test(target));
    expect(targets.length).toBeGreaterThan(5);
    const missing = targets.filter((target) => !existsSync(join(repoRoot, 'docs', target)));
    expect(missing).toEqual([]);
  });
});

describe('the sidecar patch for an existing Deployment in docs/kubernetes.md', () => {
  interface PatchContainer {
    name: string;
    args: string[];
    ports: { name: string; containerPort: number }[];
    securityContext: Record<string, unknown>;
    livenessProbe: { httpGet: { path: string; port: string } };
    readinessProbe: { httpGet: { path: string; port: string } };
    volumeMounts: { mountPath: string; readOnly?: boolean }[];
  }

  function patch(): { spec: { template: { spec: { containers: PatchContainer[] } } } } {
    const page = readText(join(repoRoot, 'docs', 'kubernetes.md'));
    const block = /```yaml\n( +)spec:\n([\s\S]*?)\n +```/.exec(page);
    if (block === null) throw new Error('no patch block found');
    const indent = block[1] ?? '';
    const text = `${indent}spec:\n${block[2] ?? ''}`.split('\n').map((line) => line.slice(indent.length)).join('\n');
    return parse(text) as ReturnType<typeof patch>;
  }

  it('runs the iamgate container as the chart does: command, ports, probes, hardening, mounts', () => {
    const values = defaultValues() as {
      iamgate: { args: string[]; port: number; opsPort: number; securityContext: Record<string, unknown> };
    };
    const [container] = patch().spec.template.spec.containers;
    expect(container?.name).toBe('iamgate');
    expect(container?.args).toEqual(values.iamgate.args);
    expect(container?.ports.map((p) => p.containerPort)).toEqual([values.iamgate.port, values.iamgate.opsPort]);
    expect(container?.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'ops' });
    expect(container?.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'ops' });
    const { seccompProfile: _pod, privileged: _default, ...hardening } = values.iamgate.securityContext;
    expect(container?.securityContext).toEqual(hardening);
    const writable = container?.volumeMounts.filter((m) => m.readOnly !== true).map((m) => m.mountPath);
    expect(writable).toEqual(['/tmp', '/var/lib/iamgate']);
  });
});
