// The configuration reference stays in step with the readers: every key a reader accepts is
// documented where a deployer looks for it, every key the pages name is one a reader accepts, and a
// default the reference states is the one the readers apply.
// The accepted keys are asked of the readers themselves: a key they do not know is UNKNOWN_KEY with
// the list of the keys they take, so no second list of keys is kept here to fall out of step.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readConfig } from '../../src/app/config.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PROBE = 'zzNotAKey';
/** What makes every reader read its whole section: the gRPC server's keys are read only when it has a port. */
const BASE = { version: 1, mode: 'development', extAuthz: { grpc: { port: 0 } } };

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `over` written onto `under`, mappings merged key by key. */
function merged(under: Mapping, over: Mapping): Mapping {
  const out = { ...under };
  for (const [k, v] of Object.entries(over)) out[k] = isMapping(v) && isMapping(out[k]) ? merged(out[k], v) : v;
  return out;
}

/** A development configuration holding `value` at `path` (`auth.issuers[].claims`: a list of one mapping). */
function configWith(path: readonly string[], value: unknown): Mapping {
  let inner = value;
  for (const segment of [...path].reverse()) {
    inner = segment.endsWith('[]') ? { [segment.slice(0, -2)]: [inner] } : { [segment]: inner };
  }
  return merged(BASE, inner as Mapping);
}

/** The keys the reader of the mapping at `path` accepts, or undefined when `path` holds no mapping of fixed keys. */
function keysAt(path: readonly string[]): readonly string[] | undefined {
  const load = readConfig(configWith(path, { [PROBE]: 1 }), {}, 'iamgate.yaml');
  const probed = [...path.map((s) => s.replace('[]', '[0]')), PROBE].join('.');
  const unknown = load.ok ? undefined : load.problems.find((f) => f.code === 'UNKNOWN_KEY' && f.path === probed);
  const listed = /expected one of: ([^)]*)\)/.exec(unknown?.message ?? '')?.[1];
  return listed?.split(', ');
}

/** Whether the key at `path` is a list of mappings of fixed keys (`auth.issuers`). */
function isListOfMappings(path: readonly string[]): boolean {
  return keysAt([...path.slice(0, -1), `${path.at(-1)}[]`]) !== undefined;
}

/** Every key path the readers accept, `.`-joined, lists of mappings as `name[]`; mappings and their leaves alike. */
function acceptedKeys(path: readonly string[] = []): string[] {
  const out: string[] = [];
  for (const key of keysAt(path) ?? []) {
    const here = [...path, key];
    const step = keysAt(here) !== undefined ? here : isListOfMappings(here) ? [...path, `${key}[]`] : undefined;
    out.push((step ?? here).join('.'));
    if (step) out.push(...acceptedKeys(step));
  }
  return out;
}

/** The lines of `page` from the heading line `from` up to the next heading of its level. */
function part(page: string, from: string): string[] {
  const lines = readFileSync(join(ROOT, 'docs', page), 'utf8').split('\n');
  const start = lines.indexOf(from);
  expect(start, `${page} has the heading "${from}"`).toBeGreaterThan(-1);
  const level = /^#+ /.exec(from)?.[0] ?? '## ';
  const end = lines.findIndex((l, i) => i > start && l.startsWith(level));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/**
 * The keys a reference table names in its first cells: `host` [default], `grpc.peerIdentity.enabled`,
 * `issuers[].jwksUrl` / `issuers[].keyFile`, and `issuers[].claims.user`, `.groups` (a sibling of the name before).
 */
function tableKeys(lines: readonly string[], prefix: string): string[] {
  const keys: string[] = [];
  for (const line of lines) {
    const cell = /^\| (`[^|]*?)(?: \[.*)? \|/.exec(line)?.[1];
    if (cell === undefined) continue;
    let parent = '';
    for (const [, name = ''] of cell.matchAll(/`([^`]+)`/g)) {
      const full = name.startsWith('.') ? `${parent}${name}` : name;
      parent = full.slice(0, full.lastIndexOf('.'));
      keys.push(prefix + full);
    }
  }
  return keys;
}

/** The keys of docs/configuration.md's "Keys": each `### \`section\`` table's keys under its section, top-level names elsewhere. */
function configurationPageKeys(): string[] {
  const keys: string[] = [];
  let section = '';
  let table: string[] = [];
  const flush = (): void => void keys.push(...tableKeys(table, section === '' ? '' : `${section}.`));
  for (const line of part('configuration.md', '## Keys')) {
    const heading = /^### (?:`(\w+)`)?/.exec(line);
    if (heading) {
      flush();
      [table, section] = [[], heading[1] ?? ''];
      if (section !== '') keys.push(section);
    } else table.push(line);
  }
  flush();
  return keys;
}

/** The key paths of the `tracing:` example of docs/tracing.md, not descending into a value that is a free-form mapping. */
function tracingPageKeys(accepted: ReadonlySet<string>): string[] {
  const block = part('tracing.md', '## OpenTelemetry export (OTLP)').join('\n');
  const yaml = /```yaml\n(tracing:[\s\S]*?)```/.exec(block)?.[1];
  expect(yaml, 'docs/tracing.md shows the tracing section as YAML').toBeDefined();
  const walk = (value: unknown, path: string): string[] =>
    isMapping(value) && (path === '' || accepted.has(`${path}.${Object.keys(value)[0]}`))
      ? Object.entries(value).flatMap(([k, v]) => [path === '' ? k : `${path}.${k}`, ...walk(v, path === '' ? k : `${path}.${k}`)])
      : [];
  return walk(parse(yaml ?? ''), '');
}

/**
 * Every key the reference pages document (configuration.md, identity.md's `auth:` table, tracing.md's
 * example), with the mappings that hold them: `audit.file.path` documents `audit.file` too.
 */
function documentedKeys(accepted: ReadonlySet<string>): Set<string> {
  const named = [...configurationPageKeys(), ...tableKeys(part('identity.md', '## Configuration keys (`auth:`)'), 'auth.'), ...tracingPageKeys(accepted)];
  return new Set(named.flatMap((key) => key.split('.').map((_, i, segments) => segments.slice(0, i + 1).join('.'))));
}

/** What a key's documented default needs beside it to be read at all: the Redis sink's keys need that sink and Redis. */
const NEEDS: Readonly<Record<string, Mapping>> = {
  'audit.redis.': { redis: { url: 'redis://127.0.0.1:6379' }, audit: { sink: ['stdout', 'redis'] } },
  'assertion.': { assertion: { audience: 'orders' } },
};

/**
 * The keys of docs/configuration.md whose default is one literal (`port` [`8400`]), with that value
 * as YAML reads it. Defaults that depend on the mode, or say none, off or required, are left out.
 */
function documentedDefaults(): Array<[string, unknown]> {
  const defaults: Array<[string, unknown]> = [];
  let section = '';
  for (const line of part('configuration.md', '## Keys')) {
    const heading = /^### (?:`(\w+)`)?/.exec(line);
    if (heading) section = heading[1] ?? '';
    const row = /^\| `([^`]+)` \[`([^`]+)`\] \|/.exec(line);
    if (!row?.[1] || row[2] === undefined) continue;
    const literal = /^(true|false|-?\d+|\[\])$/.test(row[2]) ? (JSON.parse(row[2]) as unknown) : row[2];
    defaults.push([section === '' ? row[1] : `${section}.${row[1]}`, literal]);
  }
  return defaults;
}

/** The typed configuration of BASE with `extra` written over it, or (a list) the problems that kept it from loading. */
function typed(extra: Mapping): unknown {
  const load = readConfig(merged(BASE, extra), {}, 'iamgate.yaml');
  return load.ok ? load.config : load.problems.map((f) => `${f.path}: ${f.message}`);
}

describe('the configuration reference', () => {
  const accepted = acceptedKeys();
  const documented = documentedKeys(new Set(accepted));

  it('finds the keys the readers accept through their UNKNOWN_KEY findings, down to nested lists of mappings', () => {
    expect(accepted).toEqual(expect.arrayContaining(['version', 'listen.maxHeaders', 'audit.file.rotate.maxBytes', 'auth.issuers[].claims.amrMfa', 'tracing.otlp.endpoint', 'extAuthz.grpc.peerIdentity.trustDomain']));
    expect(accepted).not.toContain('auth.issuers');
  });

  it('documents every key a reader accepts, in docs/configuration.md, the auth table of docs/identity.md or the tracing example of docs/tracing.md', () => {
    expect(accepted.filter((key) => !documented.has(key))).toEqual([]);
  });

  it('names no key that no reader accepts', () => {
    expect([...documented].filter((key) => !accepted.includes(key))).toEqual([]);
  });

  it('states the defaults the readers apply: writing a documented default changes nothing', () => {
    const defaults = documentedDefaults();
    expect(defaults.length).toBeGreaterThan(50);
    const differing = defaults.filter(([key, value]) => {
      if (key === 'mode' || key === 'version') return false;
      const needs = merged(BASE, Object.entries(NEEDS).find(([prefix]) => key.startsWith(prefix))?.[1] ?? {});
      const written = configWith(key.split('.'), value);
      const [withDefault, without] = [typed(merged(needs, written)), typed(needs)];
      return Array.isArray(withDefault) || Array.isArray(without) || JSON.stringify(withDefault) !== JSON.stringify(without);
    });
    expect(differing).toEqual([]);
  });
});
