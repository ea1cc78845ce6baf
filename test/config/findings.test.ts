// One finding vocabulary for every file iamgate reads: the same problem carries the same code in
// the configuration (and each of its sections), the directory, the route map, a policy document
// and a policy test suite, and every finding names its file, its JSON path and the reason.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, readConfig } from '../../src/app/config.js';
import { FINDING_CODES, type Finding } from '../../src/config/index.js';
import { loadRouteMap, parseRouteMapText } from '../../src/gateway/routes/index.js';
import { loadDirectory, validateDirectoryDocument } from '../../src/identity/index.js';
import { parsePolicy } from '../../src/policy/index.js';
import { parseSuite, readSuite, readSuiteDocument } from '../../src/policy-testing/suite.js';

const ALLOW = { Effect: 'Allow', Action: 'orders:GetOrder', Resource: '*' };
const CASE = { name: 'alice reads', principal: 'alice', request: 'GET /orders/1', expect: 'Allow' };

/** `code path @file` for each finding, the way a reader of `iamgate validate` output sees them. */
function located(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.code} ${f.path} @${f.file ?? ''}`);
}

function problemsOf(load: { ok: true } | { ok: false; problems: readonly Finding[] }): readonly Finding[] {
  return load.ok ? [] : load.problems;
}

describe('an unknown key', () => {
  it('is UNKNOWN_KEY in the configuration, in its sections, the directory, the route map, a policy and a suite', () => {
    const everywhere = [
      ...problemsOf(readConfig({ version: 1, mode: 'development', upstreem: {} }, {}, 'iamgate.yaml')),
      ...problemsOf(readConfig({ version: 1, mode: 'development', auth: { issuerz: [] } }, {}, 'iamgate.yaml')),
      ...problemsOf(readConfig({ version: 1, mode: 'development', cache: { l1: { size: 1 } } }, {}, 'iamgate.yaml')),
      ...validateDirectoryDocument({ account: '111122223333', users: { alice: { boundry: 'Limits' } } }, 'directory.yaml'),
      ...parseRouteMapText('version: 1\nservice: orders\nroutes: []\nextra: 1\n', 'routes.yaml').findings,
      ...parsePolicy({ Version: '2012-10-17', Statement: [ALLOW], Statment: [] }, { file: 'policy.json' }).findings,
      ...problemsOf(readSuiteDocument({ cases: [{ ...CASE, expects: 'Allow' }] }, 'suite.yaml')),
    ];
    expect(located(everywhere)).toEqual([
      'UNKNOWN_KEY upstreem @iamgate.yaml',
      'UNKNOWN_KEY auth.issuerz @iamgate.yaml',
      'UNKNOWN_KEY cache.l1.size @iamgate.yaml',
      'UNKNOWN_KEY users.alice.boundry @directory.yaml',
      'UNKNOWN_KEY extra @routes.yaml',
      'UNKNOWN_KEY Statment @policy.json',
      'UNKNOWN_KEY cases[0].expects @suite.yaml',
    ]);
    for (const f of everywhere) expect(f.message).toMatch(/unknown key|not a policy element/);
  });
});

describe('a value of the wrong type', () => {
  it('is DATA_TYPE_MISMATCH in the configuration, the directory, the route map, a policy and a suite', () => {
    const everywhere = [
      ...problemsOf(readConfig({ version: 1, mode: 'development', listen: { port: 'x' } }, {}, 'iamgate.yaml')),
      ...problemsOf(readConfig({ version: 1, mode: 'development', auth: { sts: { enabled: 'yes' } } }, {}, 'iamgate.yaml')),
      ...validateDirectoryDocument({ account: '111122223333', users: { alice: { mfaRequired: 'yes' } } }, 'directory.yaml'),
      ...parseRouteMapText('version: 1\nservice: orders\ncaseSensitive: "no"\nroutes: []\n', 'routes.yaml').findings,
      ...parsePolicy({ Version: '2012-10-17', Statement: [{ ...ALLOW, Effect: 1 }] }, { file: 'policy.json' }).findings.filter((f) => f.path === 'Statement[0].Effect'),
      ...problemsOf(readSuiteDocument({ cases: [{ ...CASE, principal: { user: 'alice', mfa: 'yes' } }] }, 'suite.yaml')),
    ];
    expect(located(everywhere)).toEqual([
      'DATA_TYPE_MISMATCH listen.port @iamgate.yaml',
      'DATA_TYPE_MISMATCH auth.sts.enabled @iamgate.yaml',
      'DATA_TYPE_MISMATCH users.alice.mfaRequired @directory.yaml',
      'DATA_TYPE_MISMATCH caseSensitive @routes.yaml',
      'DATA_TYPE_MISMATCH Statement[0].Effect @policy.json',
      'DATA_TYPE_MISMATCH cases[0].principal.mfa @suite.yaml',
    ]);
  });
});

describe('files that cannot be read or parsed', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-findings-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('are FILE_UNREADABLE for the configuration, the directory, the route map and a suite', async () => {
    const missing = (name: string): string => join(dir, name);
    const config = await loadConfig({ file: missing('iamgate.yaml'), env: {} });
    const directory = await loadDirectory(missing('directory.yaml'));
    const routes = await loadRouteMap(missing('routes.yaml'));
    const suite = await readSuite(missing('suite.yaml'));
    const all = [...problemsOf(config), ...directory.findings, ...routes.findings, ...problemsOf(suite)];
    expect(located(all)).toEqual(['iamgate.yaml', 'directory.yaml', 'routes.yaml', 'suite.yaml'].map((name) => `FILE_UNREADABLE  @${missing(name)}`));
  });

  it('are YAML_SYNTAX_ERROR with the line, or DUPLICATE_KEY naming the key given twice by its path, in every YAML file', async () => {
    const broken = 'version: 1\nroutes: [\n';
    const twice = 'version: 1\nversion: 1\n';
    const nested = 'version: 1\nroutes:\n  - route: GET /a\n    action: a:B\n    action: a:C\n';
    const configFile = join(dir, 'iamgate.yaml');
    const directoryFile = join(dir, 'directory.yaml');
    await writeFile(configFile, broken);
    await writeFile(directoryFile, twice);
    const config = await loadConfig({ file: configFile, env: {} });
    const directory = await loadDirectory(directoryFile);
    const routes = parseRouteMapText(twice, 'routes.yaml').findings;
    const suite = parseSuite(broken, 'suite.yaml');
    const all = [...problemsOf(config), ...directory.findings, ...routes, ...problemsOf(suite)];
    expect(all.map((f) => `${f.code} @${f.file ?? ''}`)).toEqual([
      `YAML_SYNTAX_ERROR @${configFile}`,
      `DUPLICATE_KEY @${directoryFile}`,
      'DUPLICATE_KEY @routes.yaml',
      'YAML_SYNTAX_ERROR @suite.yaml',
    ]);
    for (const f of all) expect(f.message).toMatch(/line \d+, column \d+/);
    expect(directory.findings[0]).toMatchObject({ path: 'version', message: '"version" is given more than once, so its meaning is ambiguous at line 2, column 1' });
    expect(parseRouteMapText(nested, 'routes.yaml').findings).toEqual([
      expect.objectContaining({ code: 'DUPLICATE_KEY', path: 'routes[0].action', message: '"routes[0].action" is given more than once, so its meaning is ambiguous at line 5, column 5' }),
    ]);
  });
});

describe('the vocabulary', () => {
  it('gives every code one severity and a title', () => {
    for (const [code, info] of Object.entries(FINDING_CODES)) {
      expect(code).toMatch(/^[A-Z][A-Z_]+$/);
      expect(['error', 'warning', 'security', 'suggestion']).toContain(info.severity);
      expect(info.title.length).toBeGreaterThan(10);
    }
  });
});
