// Every iamgate command on real files: --help, --version, one error style for usage mistakes and
// unreadable files, and `iamgate token` needing only the directory's user.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { ENV } from '../../src/config/index.js';
import type { CliIo } from '../../src/cli/io.js';
// Loaded with the file, so that the commands' own lazy imports cost no time inside a test.
import '../../src/cli/audit.js';
import '../../src/cli/diff.js';
import '../../src/cli/replay.js';
import '../../src/cli/serve.js';
import '../../src/cli/simulate.js';
import '../../src/cli/test.js';
import '../../src/cli/token.js';
import '../../src/cli/validate.js';

const ROOT = join(import.meta.dirname, '..', '..');
let dir = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-commands-'));
});
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (l) => out.push(l), stderr: (l) => err.push(l) };
  const code = await runCli(argv, io);
  return { code, out, err };
}

/** Runs `body` with the environment variable `name` set to `value` (unset when undefined), then restores it. */
async function withEnv(name: string, value: string | undefined, body: () => Promise<void>): Promise<void> {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  try {
    await body();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

describe('the iamgate command line', () => {
  it('prints the package version with --version and version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const arg of ['--version', 'version']) expect(await cli(arg)).toEqual({ code: 0, out: [`iamgate ${version}`], err: [] });
  });

  it('answers version --help (and help version) with its usage, and refuses any other argument as a usage error', async () => {
    const usage = await cli('version', '--help');
    expect(usage.code).toBe(0);
    expect(usage.out.join('\n')).toMatch(/^usage: iamgate version/);
    expect(await cli('help', 'version')).toEqual(usage);
    const typo = await cli('version', '--jsno');
    expect(typo).toEqual({ code: 2, out: [], err: ['iamgate version: unknown argument: --jsno\nusage: iamgate version (or iamgate --version)'] });
  });

  it.each(COMMANDS.map((c) => c.name))('answers %s --help with its usage on stdout and exit code 0', async (name) => {
    const { code, out, err } = await cli(name, '--help');
    expect(code).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('\n')).toMatch(/usage:/);
  });

  it.each(COMMANDS.map((c) => c.name))('answers help %s with the same text as %s --help', async (name) => {
    const viaHelp = await cli('help', name);
    expect(viaHelp).toEqual(await cli(name, '--help'));
    expect(viaHelp.out.join('\n')).not.toContain('usage: iamgate <command>');
  });

  it('answers help with a command it does not have as it answers that command: a usage error naming the command meant', async () => {
    const { code, out, err } = await cli('help', 'vaildate');
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toMatch(/^iamgate: unknown command "vaildate"; did you mean "validate"\?/);
  });

  it("has a row for every command in the README's command table, with the synopsis its --help prints", async () => {
    const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
    const synopses = [...readme.matchAll(/^\| `(iamgate [^`]+)` \|/gm)].map((m) => (m[1] ?? '').replaceAll('\\|', '|'));
    expect(synopses.map((s) => s.split(' ')[1]).sort()).toEqual(COMMANDS.map((c) => c.name).sort());
    for (const synopsis of synopses) {
      const [, name = '', subcommands = ''] = synopsis.split(' ');
      const help = (await cli(name, '--help')).out.join('\n');
      // audit's help has one usage line per subcommand, which the row names between bars.
      if (name === 'audit') expect(subcommands.split('|').filter((sub) => !help.includes(`\n  iamgate audit ${sub} `))).toEqual([]);
      else expect(/^usage: (iamgate .*)$/m.exec(help)?.[1]).toBe(synopsis);
    }
  });

  it('names in serve --help the environment variables docs/configuration.md documents, every override the loader reads among them', async () => {
    const page = await readFile(join(ROOT, 'docs', 'configuration.md'), 'utf8');
    const section = page.slice(page.indexOf('## Environment overrides'), page.indexOf('## Keys'));
    const documented = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    const { out } = await cli('serve', '--help');
    const named = /Environment: ([^.]*)\./.exec(out.join('\n'))?.[1]?.split(/,\s+/);
    expect(named).toEqual(documented);
    expect(documented).toEqual(expect.arrayContaining(Object.values(ENV)));
  });

  it('lists the exit codes in its help', async () => {
    expect((await cli('--help')).out.join('\n')).toContain('Exit codes: 0 done, nothing wrong; 1 problems found or the command failed; 2 a usage error.');
  });

  it('refuses an unknown command in one line naming the command meant, then where the commands are listed, not the whole help', async () => {
    expect(await cli('vaildate', 'x.json')).toEqual({
      code: 2,
      out: [],
      err: ['iamgate: unknown command "vaildate"; did you mean "validate"?\nusage: iamgate <command> [...args] (iamgate --help lists the commands)'],
    });
  });

  it.each([
    ['serve', '--confg', '--config'],
    ['validate', '--jsn', '--json'],
    ['simulate', '--explian', '--explain'],
    ['test', '--junt', '--junit'],
    ['diff', '--jsno', '--json'],
    ['replay', '--polices', '--policies'],
    ['audit verify', '--hed', '--head'],
    ['token', '--mfaa', '--mfa'],
  ])('refuses a misspelt option of %s in one line of the common wording, naming the option meant, then its usage, and exits 2', async (command, typo, meant) => {
    const { code, out, err } = await cli(...command.split(' '), typo);
    expect({ code, out }).toEqual({ code: 2, out: [] });
    const [first, second] = err.join('\n').split('\n');
    expect(first).toBe(`iamgate ${command}: unknown argument: ${typo}; did you mean "${meant}"?`);
    expect(second).toMatch(/^usage:/);
  });

  it('suggests the audit subcommand meant by a misspelt one, in the common style', async () => {
    const { code, err } = await cli('audit', 'verfy', 'x.log');
    expect(code).toBe(2);
    expect(err[0]?.split('\n')[0]).toBe('iamgate audit: unknown subcommand "verfy"; did you mean "verify"?');
  });

  it('says audit needs a subcommand, in the common style, and exits 2', async () => {
    const { code, out, err } = await cli('audit');
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]?.split('\n')[0]).toBe('iamgate audit: no subcommand given (verify, report or suggest-policy)');
  });

  it('says which argument replay lacks, in the common style, and exits 2', async () => {
    const noPolicies = await cli('replay', 'trail.log');
    expect(noPolicies.code).toBe(2);
    expect(noPolicies.err[0]?.split('\n')[0]).toBe('iamgate replay: no --policies DIR given');
    const noTrail = await cli('replay', '--policies', 'policies');
    expect(noTrail.code).toBe(2);
    expect(noTrail.err[0]?.split('\n')[0]).toBe('iamgate replay: no TRAIL or --redis URL given');
  });

  it('says serve --workers lacks its number, in the common style, and exits 2 without serving', async () => {
    for (const argv of [['serve', '--workers'], ['serve', '--workers='], ['serve', '--config', 'x.yaml', '--workers']]) {
      const { code, out, err } = await cli(...argv);
      expect(code).toBe(2);
      expect(out).toEqual([]);
      expect(err[0]?.split('\n')[0]).toBe('iamgate serve: --workers needs a whole number from 1 to 64 (got "")');
    }
  });

  it('names IAMGATE_WORKERS, not the flag, when the number of workers it gives is wrong, and lets --workers override it', async () => {
    await withEnv('IAMGATE_WORKERS', '65', async () => {
      const fromEnv = await cli('serve', '--demo');
      expect(fromEnv.code).toBe(2);
      expect(fromEnv.err[0]?.split('\n')[0]).toBe('iamgate serve: IAMGATE_WORKERS needs a whole number from 1 to 64 (got "65")');
      const fromFlag = await cli('serve', '--workers', '0');
      expect(fromFlag.err[0]?.split('\n')[0]).toBe('iamgate serve: --workers needs a whole number from 1 to 64 (got "0")');
    });
  });

  it('says serve without a configuration how to name one, or to run the example with --demo, and exits 2', async () => {
    await withEnv('IAMGATE_CONFIG', undefined, async () => {
      const { code, out, err } = await cli('serve');
      expect(code).toBe(2);
      expect(out).toEqual([]);
      expect(err[0]?.split('\n')[0]).toBe('iamgate serve: no configuration (pass --config FILE or set IAMGATE_CONFIG; --demo runs the example in policies/)');
    });
  });

  it('names the file and the reason when a file is missing, never a raw ENOENT', async () => {
    const missing = join(dir, 'missing.log');
    const audit = await cli('audit', 'verify', missing);
    expect(audit.code).toBe(1);
    expect(audit.err).toEqual([`iamgate audit verify: ${missing}: no such file or folder`]);
    expect((await cli('audit', 'report', missing)).err).toEqual([`iamgate audit report: ${missing}: no such file or folder`]);
    const simulate = await cli('simulate', '--cases', missing);
    expect(simulate.code).toBe(2);
    expect(simulate.err).toEqual([`iamgate simulate: ${missing}: no such file or folder`]);
    const token = await cli('token', 'alice', '--config', missing);
    expect(token.code).toBe(1);
    expect(token.err.join('\n')).toContain(`${missing}: (root): cannot read the configuration file (no such file or folder)`);
    const test = await cli('test', missing);
    expect(test.code).toBe(2);
    expect(test.err).toEqual([`iamgate test: ${missing}: no such file or folder`]);
    for (const r of [audit, simulate, token, test]) expect(r.err.join('\n')).not.toContain('ENOENT');
  });

  it('names a policy folder without its directory and route map as no such file, never a raw ENOENT', async () => {
    const empty = await mkdtemp(join(dir, 'no-policies-'));
    const runs = [await cli('test', '--policies', empty), await cli('diff', empty, join(ROOT, 'policies')), await cli('replay', join(dir, 'trail.log'), '--policies', empty)];
    for (const run of runs) {
      expect(run.code).toBe(1);
      const text = run.err.join('\n');
      expect(text).toContain(`${join(empty, 'directory.yaml')}: error FILE_UNREADABLE: cannot read ${join(empty, 'directory.yaml')}: no such file or folder`);
      expect(text).toContain(`${join(empty, 'routes.yaml')}: error FILE_UNREADABLE: cannot read route map: no such file or folder`);
      expect(text).not.toContain('ENOENT');
    }
  });

  it('says diff was given no policy folder at all, in the common style, naming both arguments', async () => {
    const [a, b] = [join(dir, 'old-nowhere'), join(dir, 'new-nowhere')];
    expect(await cli('diff', a, b)).toEqual({ code: 1, out: [], err: [`iamgate diff: neither ${a} nor ${b} is a policy folder (one must be; the other may be a git revision of it)`] });
  });
});

describe('iamgate serve', () => {
  /** A configuration on free ports but `taken` for the listener `at` names; runs serve on it and returns what it said. */
  async function serveWithTaken(at: 'listen' | 'operations' | 'extAuthz' | 'demo', taken: number): Promise<{ code: number; err: string[] }> {
    const config = join(dir, `port-taken-${at}.yaml`);
    const policies = join(ROOT, 'policies');
    const port = (listener: typeof at): number => (listener === at ? taken : 0);
    await writeFile(
      config,
      [
        'version: 1',
        'mode: development',
        `listen: { host: 127.0.0.1, port: ${port('listen')} }`,
        `operations: { host: 127.0.0.1, port: ${port('operations')} }`,
        ...(at === 'extAuthz' ? [`extAuthz: { grpc: { host: 127.0.0.1, port: ${taken} } }`] : []),
        ...(at === 'demo' ? [`upstream: { url: 'http://127.0.0.1:${taken}' }`] : []),
        `policies: { directory: ${join(policies, 'directory.yaml')}, routes: ${join(policies, 'routes.yaml')}, watch: false }`,
        `auth: { stateDir: ${join(dir, `port-taken-${at}-state`)} }`,
        `audit: { sink: file, file: { path: ${join(dir, `port-taken-${at}-audit.jsonl`)} } }`,
        'logging: { level: silent }',
      ].join('\n'),
    );
    const { code, err } = await cli('serve', '--config', config, ...(at === 'demo' ? ['--demo'] : []));
    return { code, err };
  }

  it.each([
    ['directory.yaml', 'the directory (users, groups, roles)'],
    ['routes.yaml', 'the route map'],
    ['policies/OrdersReadOnly.json', 'a policy document'],
    ['tests/orders.yaml', 'a policy test suite'],
  ])('names %s given to serve or token as the configuration as the file it is (%s), not as its keys the configuration lacks', async (name, what) => {
    const file = join(ROOT, 'policies', name);
    expect(await cli('serve', '--config', file)).toEqual({
      code: 1,
      out: [],
      err: [`iamgate serve: ${file} is ${what}, not a configuration; nothing was started: pass the iamgate.yaml that names it (--config or IAMGATE_CONFIG), or --demo for the example`],
    });
    expect(await cli('token', 'alice', '--config', file)).toEqual({
      code: 1,
      out: [],
      err: [`iamgate token: ${file} is ${what}, not a configuration; pass the iamgate.yaml that names it (--config or IAMGATE_CONFIG)`],
    });
  });

  it('still lists the problems of a configuration with mistakes', async () => {
    const file = join(dir, 'mistaken.yaml');
    await writeFile(file, 'version: 1\nlisten: { prot: 8400 }\n');
    const { code, err } = await cli('serve', '--config', file);
    expect(code).toBe(1);
    expect(err[0]).toMatch(/^iamgate serve: the configuration has \d+ problem\(s\); nothing was started:$/);
    expect(err).toContainEqual(expect.stringContaining(`${file}: listen.prot: unknown key`));
  });

  it.each([
    ['listen', 'the gateway port (listen.port, IAMGATE_PORT)', 'IAMGATE_PORT'],
    ['operations', 'the operations port (operations.port, IAMGATE_OPS_PORT)', 'IAMGATE_OPS_PORT'],
    ['extAuthz', 'the ext_authz gRPC port (extAuthz.grpc.port)', 'extAuthz.grpc.port'],
    ['demo', "the demo service's port (upstream.url, IAMGATE_UPSTREAM)", 'IAMGATE_UPSTREAM (a second serve --demo needs its own IAMGATE_PORT, IAMGATE_OPS_PORT, IAMGATE_UPSTREAM and IAMGATE_STATE_DIR)'],
  ] as const)('names the taken address, the listener (%s) that wanted it and the setting that moves it, in one line', async (at, what, setting) => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      expect(await serveWithTaken(at, port)).toEqual({
        code: 1,
        err: [`iamgate serve: 127.0.0.1:${port}, ${what}, is already in use (another iamgate?): stop what listens there, or choose another port with ${setting}`],
      });
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

describe('iamgate simulate', () => {
  it('gives the line and column of malformed JSON', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, '[\n  {"name": "a",}\n]\n');
    const { code, err } = await cli('simulate', '--cases', file);
    expect(code).toBe(2);
    expect(err).toEqual([expect.stringMatching(new RegExp(`^iamgate simulate: ${file}: not valid JSON: .* at line 2, column 16$`))]);
  });

  it('names the iamgate file given as a cases file and what to do with it, instead of a JSON error on its first line', async () => {
    const suite = join(ROOT, 'policies', 'tests', 'orders.yaml');
    expect(await cli('simulate', '--cases', suite)).toEqual({
      code: 2,
      out: [],
      err: [`iamgate simulate: ${suite}: a policy test suite, not a cases file: run it with iamgate test ${suite}`],
    });
    const takes = 'not a cases file: --cases takes a JSON array of cases (docs/policy-evaluation.md, "iamgate simulate")';
    const config = join(ROOT, 'policies', 'iamgate.yaml');
    expect((await cli('simulate', '--cases', config)).err).toEqual([`iamgate simulate: ${config}: the configuration, ${takes}`]);
    const policy = join(ROOT, 'policies', 'policies', 'OrdersReadOnly.json');
    expect((await cli('simulate', '--cases', policy)).err).toEqual([`iamgate simulate: ${policy}: a policy document, ${takes}`]);
    const other = join(dir, 'other.json');
    await writeFile(other, '{"name": "a case without its array"}\n');
    expect((await cli('simulate', '--cases', other)).err).toEqual([`iamgate simulate: ${other}: the file must hold a JSON array of cases`]);
  });

  it('refuses an unknown argument in the common style, suggesting the one meant', async () => {
    const { code, err } = await cli('simulate', '--case', 'x.json');
    expect(code).toBe(2);
    expect(err[0]?.split('\n')[0]).toBe('iamgate simulate: unknown argument: --case; did you mean "--cases"?');
  });
});

describe('iamgate token', () => {
  async function example(name: string): Promise<string> {
    const copy = join(dir, name);
    await cp(join(ROOT, 'policies'), copy, { recursive: true, filter: (src) => !src.includes('.iamgate-state') });
    return copy;
  }

  it('mints a token for a directory user while a policy file is invalid', async () => {
    const copy = await example('broken-policy');
    const policy = join(copy, 'policies', 'OrdersReadOnly.json');
    await writeFile(policy, (await readFile(policy, 'utf8')).replace('"Allow"', '"Alow"'));
    const { code, out, err } = await cli('token', 'alice', '--config', join(copy, 'iamgate.yaml'));
    expect(err).toEqual([]);
    expect(code).toBe(0);
    expect(decodeJwt(out[0] ?? '')).toMatchObject({ sub: 'alice' });
  });

  it('says which user is missing, which users there are, and the one probably meant', async () => {
    const copy = await example('no-user');
    const { code, out, err } = await cli('token', 'alcie', '--config', join(copy, 'iamgate.yaml'));
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([expect.stringMatching(/^iamgate token: no user "alcie" in .*directory\.yaml; did you mean "alice"\? \(users: .*alice.*\)$/)]);
  });

  it('takes --groups or --config without its value, or with a flag in its place, as a usage error, and mints nothing', async () => {
    const usage = 'usage: iamgate token USER [--mfa] [--ttl DURATION] [--groups G1,G2] [--config FILE]';
    const noGroups = 'iamgate token: --groups needs one or more group names, comma-separated (--groups developers,auditors)';
    for (const argv of [['carol', '--groups'], ['carol', '--groups', '--mfa'], ['carol', '--groups', ',']]) {
      expect(await cli('token', ...argv)).toEqual({ code: 2, out: [], err: [`${noGroups}\n${usage}`] });
    }
    expect(await cli('token', 'carol', '--config', '--mfa')).toEqual({ code: 2, out: [], err: [`iamgate token: --config needs a file\n${usage}`] });
  });

  it('refuses --groups when the development issuer reads no groups claim, and puts them in the claim it names', async () => {
    const copy = await example('groups');
    const config = join(copy, 'iamgate.yaml');
    const refused = await cli('token', 'bob', '--groups', 'developers', '--config', config);
    expect(refused.code).toBe(1);
    expect(refused.out).toEqual([]);
    expect(refused.err).toEqual([`iamgate token: --groups needs the development issuer "dev" to read groups from a claim: set its claims.groups (claims: { groups: groups }) in ${config}`]);

    await writeFile(config, (await readFile(config, 'utf8')).replace('claims: { amrMfa: true }', 'claims: { amrMfa: true, groups: groups }'));
    const minted = await cli('token', 'bob', '--groups', 'developers', '--config', config);
    expect(minted.code).toBe(0);
    expect(decodeJwt(minted.out[0] ?? '')).toMatchObject({ sub: 'bob', groups: ['developers'] });
  });

  it('refuses --mfa when the development issuer does not read a second factor from amr', async () => {
    const copy = await example('no-amr');
    const config = join(copy, 'iamgate.yaml');
    await writeFile(config, (await readFile(config, 'utf8')).replace('claims: { amrMfa: true }', 'claims: { amrMfa: false }'));
    const refused = await cli('token', 'carol', '--mfa', '--config', config);
    expect(refused.code).toBe(1);
    expect(refused.err).toEqual([`iamgate token: --mfa needs the development issuer "dev" to read a second factor from amr: set its claims.amrMfa: true in ${config}`]);
    const plain = await cli('token', 'carol', '--config', config);
    expect(plain.code).toBe(0);
  });

  it('says why when the directory itself cannot be read', async () => {
    const copy = await example('bad-directory');
    await writeFile(join(copy, 'directory.yaml'), 'users: [\n');
    const { code, err } = await cli('token', 'alice', '--config', join(copy, 'iamgate.yaml'));
    expect(code).toBe(1);
    expect(err[0]).toMatch(/^iamgate token: cannot read the users of the directory .*directory\.yaml:$/);
    expect(err[1]).toMatch(/directory\.yaml: .*line \d+/);
  });
});
