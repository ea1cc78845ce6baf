// values.yaml against values.schema.json with a real JSON Schema validator (draft-07, the
// dialect Helm reads), and bad values files that must fail it, each for its stated reason.
import { join } from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject } from 'ajv';
import { describe, expect, it } from 'vitest';
import { badValuesDir, chartDir, coalesce, defaultValues, filesBelow, readText, readYaml } from './chart.js';

// strictTypes is off: the conditional subschemas (allOf) narrow values already typed above.
const schema = JSON.parse(readText(join(chartDir, 'values.schema.json'))) as Record<string, unknown>;
const validate = new Ajv({ allErrors: true, strict: true, strictTypes: false }).compile(schema);

function errorsFor(values: unknown): ErrorObject[] {
  return validate(values) ? [] : [...(validate.errors ?? [])];
}

/** Where an error points: the offending value, or for an unknown key the key itself. */
function location(error: ErrorObject): string {
  const extra = error.keyword === 'additionalProperties' ? error.params['additionalProperty'] : undefined;
  return typeof extra === 'string' ? `${error.instancePath}/${extra}` : error.instancePath;
}

function describeErrors(errors: readonly ErrorObject[]): string {
  return errors.map((e) => `${location(e) || '/'} ${e.message ?? ''}`).join('; ');
}

/** Values as Helm would validate them: the user's file merged over the chart's defaults. */
function withDefaults(path: string): unknown {
  return coalesce(defaultValues(), readYaml(path));
}

describe('values.schema.json', () => {
  it('declares the draft-07 dialect that Helm 3 and 4 both read', () => {
    expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('accepts the defaults once sidecar mode is given the image of the service', () => {
    const values = coalesce(defaultValues(), { app: { image: { repository: 'registry.example.internal/orders' } } });
    expect(describeErrors(errorsFor(values))).toBe('');
  });

  it('accepts the defaults in forwardAuth mode, which deploys no service image', () => {
    const values = coalesce(defaultValues(), { mode: 'forwardAuth' });
    expect(describeErrors(errorsFor(values))).toBe('');
  });

  it('rejects the bare defaults, because sidecar mode needs the service image', () => {
    expect(errorsFor(defaultValues()).map(location)).toContain('/app/image/repository');
  });

  it.each(filesBelow(join(chartDir, 'ci')))('accepts the example values ci/%s', (name) => {
    expect(describeErrors(errorsFor(withDefaults(join(chartDir, 'ci', name))))).toBe('');
  });

  it('declares every key of values.yaml, so no documented value is outside the schema', () => {
    const walk = (values: unknown, node: Record<string, unknown>, path: string): string[] => {
      if (values === null || typeof values !== 'object' || Array.isArray(values)) return [];
      const props = node['properties'] as Record<string, Record<string, unknown>> | undefined;
      if (props === undefined) return [];
      return Object.entries(values).flatMap(([key, value]) => {
        const child = props[key];
        return child === undefined ? [`${path}.${key}`] : walk(value, child, `${path}.${key}`);
      });
    };
    expect(walk(defaultValues(), schema, '')).toEqual([]);
  });
});

describe('bad values files fail the schema for the reason they state', () => {
  const cases = filesBelow(badValuesDir).map((name) => {
    const path = join(badValuesDir, name);
    const expected = /^# expect: (\S+)/m.exec(readText(path))?.[1];
    return { name, path, expected };
  });

  it('are at least ten, each naming the value it expects to be refused', () => {
    expect(cases.length).toBeGreaterThanOrEqual(10);
    for (const c of cases) expect(c.expected, c.name).toBeDefined();
  });

  it.each(cases)('$name is refused at $expected', ({ path, expected }) => {
    const errors = errorsFor(withDefaults(path));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map(location), describeErrors(errors)).toContain(expected);
  });
});
