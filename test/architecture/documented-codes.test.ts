// The reason codes callers switch on and the metrics they scrape are documented exactly as the code
// has them: each table of codes in src/ and the page that documents it name the same codes with the
// same status, Envoy is told the gRPC code the page says, and every metric src/ registers has its row.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AUTH_ERRORS, authStatus, type AuthErrorCode } from '../../src/auth/errors.js';
import { FINDING_CODES } from '../../src/config/findings.js';
import { RPC_CODES, rpcCodeFor } from '../../src/extauthz/check-response.js';
import { GATEWAY_ERRORS, STS_ERRORS } from '../../src/errors/index.js';

const DOCS = join(import.meta.dirname, '..', '..', 'docs');

/** The lines of `page` under the heading line `heading`, up to the next heading of its level or above. */
function section(page: string, heading: string): string[] {
  const lines = readFileSync(join(DOCS, page), 'utf8').split('\n');
  const start = lines.indexOf(heading);
  expect(start, `docs/${page} has the heading "${heading}"`).toBeGreaterThan(-1);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/**
 * `code -> [status, ...rest]` for each row of the tables in `lines` whose first cell names codes:
 * `code`, or several (`a`, `b`); what a cell says in parentheses is a note, not a code.
 */
function codeRows(lines: readonly string[]): Record<string, string[]> {
  const rows: Record<string, string[]> = {};
  for (const line of lines) {
    const cells = line.split(' | ').map((c) => c.replace(/^\| ?| ?\|$/g, '').trim());
    const [first = '', ...rest] = cells;
    if (!/^\d{3}$/.test(rest[0] ?? '')) continue;
    for (const [, code = ''] of first.replace(/\([^)]*\)/g, '').matchAll(/`([a-z_]+)`/g)) rows[code] = rest.slice(0, 2);
  }
  return rows;
}

/** `code -> status` of a table of codes in src/. */
function statuses(table: Readonly<Record<string, { readonly status: number }>>): Record<string, string> {
  return Object.fromEntries(Object.entries(table).map(([code, { status }]) => [code, String(status)]));
}

describe('the documented reason codes', () => {
  it('list every code of the gateway error table in docs/gateway.md, with its status and error name, and no other', () => {
    const rows = codeRows(section('gateway.md', '## Rejections').filter((l) => /^\| `/.test(l)));
    const documented = Object.fromEntries(Object.entries(rows).map(([code, [status, error]]) => [code, { status: Number(status), error: error?.replaceAll('`', '') }]));
    const table = Object.fromEntries(Object.entries(GATEWAY_ERRORS).map(([code, { status, error }]) => [code, { status, error }]));
    expect(documented).toEqual(table);
  });

  it('list every authentication code in docs/identity.md, with its status, and no other', () => {
    const rows = codeRows(section('identity.md', '### Reason codes'));
    expect(Object.fromEntries(Object.entries(rows).map(([code, [status]]) => [code, status]))).toEqual(Object.fromEntries(Object.keys(AUTH_ERRORS).map((code) => [code, String(authStatus(code as AuthErrorCode))])));
  });

  it('list every STS code in docs/identity.md, with its status, and no other', () => {
    const rows = codeRows(section('identity.md', '## STS endpoints (`/.iamgate/sts/...`)'));
    expect(Object.fromEntries(Object.entries(rows).map(([code, [status]]) => [code, status]))).toEqual(statuses(STS_ERRORS));
  });
});

describe('the documented finding codes', () => {
  it('list every code a file can be reported with in docs/configuration.md, with its severity, and no other', () => {
    const rows = section('configuration.md', '### Finding codes').flatMap((l) => {
      const row = /^\| `([A-Z_]+)` \| (error|security|warning|suggestion) \|/.exec(l);
      return row ? [[row[1] ?? '', row[2] ?? '']] : [];
    });
    expect(Object.fromEntries(rows)).toEqual(Object.fromEntries(Object.entries(FINDING_CODES).map(([code, { severity }]) => [code, severity])));
    expect(rows).toHaveLength(Object.keys(FINDING_CODES).length);
  });
});

describe('the gRPC codes docs/istio.md gives a denied check', () => {
  it('are, for each HTTP status it lists, the google.rpc code and name the ext_authz server answers with', () => {
    const rows = section('istio.md', '## What iamgate answers').flatMap((l) => {
      const row = /^\| (\d{3})\b[^|]* \| `(\d+)` (\w+) \|/.exec(l);
      return row ? [{ status: Number(row[1]), code: Number(row[2]), name: row[3] ?? '' }] : [];
    });
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.map(({ status, name }) => ({ status, code: rpcCodeFor(status), name: RPC_CODES[name as keyof typeof RPC_CODES] }))).toEqual(
      rows.map(({ status, code }) => ({ status, code, name: code })),
    );
  });
});

/** The metric names src/ registers (`name: 'iamgate_...'`, whichever part registers them). */
function registeredMetrics(): Set<string> {
  const src = join(DOCS, '..', 'src');
  const files = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  return new Set(files.flatMap((f) => [...readFileSync(join(src, f), 'utf8').matchAll(/\bname: '(iamgate_\w+)'/g)].map((m) => m[1] ?? '')));
}

/** The metric names in the first cell of the rows of the metric tables of `page` (a family such as `iamgate_audit_*` aside). */
function documentedMetrics(page: string): string[] {
  const rows = readFileSync(join(DOCS, page), 'utf8').split('\n').filter((l) => l.startsWith('| `iamgate_'));
  return rows.flatMap((row) => [...(row.split(' | ')[0] ?? '').matchAll(/`(iamgate_\w+)`/g)].map((m) => m[1] ?? ''));
}

describe('the documented metrics', () => {
  const registered = registeredMetrics();
  const documented = [...documentedMetrics('gateway.md'), ...documentedMetrics('audit.md')];

  it('give every metric iamgate registers a row in the metric tables of docs/gateway.md or docs/audit.md', () => {
    expect(registered.size).toBeGreaterThan(20);
    expect([...registered].filter((name) => !documented.includes(name))).toEqual([]);
  });

  it('name no metric iamgate does not register', () => {
    expect(documented.filter((name) => !registered.has(name))).toEqual([]);
  });
});
