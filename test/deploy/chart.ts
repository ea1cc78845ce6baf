// Reading the Helm chart in helm/iamgate for the deployment tests.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
export const chartDir = join(repoRoot, 'helm', 'iamgate');
export const templatesDir = join(chartDir, 'templates');
export const badValuesDir = fileURLToPath(new URL('./bad-values/', import.meta.url));

/** Every file below `dir`, as paths relative to it, sorted. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const name of readdirSync(current)) {
      const full = join(current, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

/** The chart's template files (templates/**, including helpers and NOTES.txt). */
export function templateFiles(): string[] {
  return filesBelow(templatesDir).map((name) => join(templatesDir, name));
}

/** Reads a file as text. */
export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Parses a YAML file strictly (duplicate keys and syntax errors throw). */
export function readYaml(path: string): unknown {
  return parse(readText(path), { strict: true, uniqueKeys: true, prettyErrors: true });
}

/** The chart's default values. */
export function defaultValues(): Record<string, unknown> {
  return readYaml(join(chartDir, 'values.yaml')) as Record<string, unknown>;
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Merges user values over the defaults the way Helm coalesces them: maps merge key by key,
 * anything else replaces the default, and null removes the key.
 */
export function coalesce(defaults: unknown, overrides: unknown): unknown {
  if (!isMap(defaults) || !isMap(overrides)) return overrides === undefined ? defaults : overrides;
  const merged: Record<string, unknown> = { ...defaults };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === null) delete merged[key];
    else merged[key] = key in defaults ? coalesce(defaults[key], value) : value;
  }
  return merged;
}
