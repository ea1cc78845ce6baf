// Every file of the chart that is not a template must be well-formed as Helm reads it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { badValuesDir, chartDir, filesBelow, readText, readYaml } from './chart.js';

const plainYaml = filesBelow(chartDir).filter(
  (name) => !name.startsWith('templates/') && /\.ya?ml$/.test(name),
);

describe('the chart files that are not templates', () => {
  it('include Chart.yaml, values.yaml and the example values in ci/', () => {
    expect(plainYaml).toContain('Chart.yaml');
    expect(plainYaml).toContain('values.yaml');
    expect(plainYaml.filter((name) => name.startsWith('ci/')).length).toBeGreaterThanOrEqual(2);
  });

  it.each(plainYaml)('%s parses as YAML without duplicate keys', (name) => {
    const doc = readYaml(join(chartDir, name));
    expect(doc).toBeTypeOf('object');
    expect(doc).not.toBeNull();
  });

  it('values.schema.json parses as JSON', () => {
    expect(() => JSON.parse(readText(join(chartDir, 'values.schema.json')))).not.toThrow();
  });

  it('Chart.yaml declares an application chart of API v2 with semantic versions', () => {
    const chart = readYaml(join(chartDir, 'Chart.yaml')) as Record<string, unknown>;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'iamgate', type: 'application' });
    expect(chart['version']).toMatch(/^\d+\.\d+\.\d+$/);
    expect(chart['appVersion']).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('the appVersion is the version in package.json, the image tag by default', () => {
    const chart = readYaml(join(chartDir, 'Chart.yaml')) as Record<string, unknown>;
    const pkg = JSON.parse(readText(join(chartDir, '..', '..', 'package.json'))) as { version: string };
    expect(chart['appVersion']).toBe(pkg.version);
  });
});

describe('the bad values files', () => {
  it.each(filesBelow(badValuesDir))('%s parses as YAML (so the schema, not the parser, rejects it)', (name) => {
    expect(readYaml(join(badValuesDir, name))).toBeTypeOf('object');
  });
});
