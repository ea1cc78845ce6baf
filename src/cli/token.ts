// `iamgate token USER [--mfa] [--ttl 1h] [--groups a,b] [--config FILE]`: prints a bearer token for
// a user of the example directory, signed with the local development key, so that the quick start
// and tests can call the gateway as alice or bob. Refuses unless the configuration says
// `mode: development`.
import { access } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig as loadTypedConfig } from '../app/index.js';
import { mintDevelopmentToken } from '../auth/index.js';
import { ENV, formatProblems, loadConfig } from '../config/index.js';
import { readDirectoryUsers } from '../identity/index.js';
import { didYouMean } from '../policy/index.js';
import { EXIT, unknownArgument } from './exit.js';
import { configProblemLines, type CliIo } from './io.js';

const USAGE = 'usage: iamgate token USER [--mfa] [--ttl DURATION] [--groups G1,G2] [--config FILE]';
const HELP = `${USAGE}

Prints a bearer token for USER (a user of the directory), signed with the development issuer's
key (the auth.issuers entry with developmentKey: true; the key is generated on first use).
Only for configurations with mode: development.

  --mfa            the token says a second factor was used (amr: mfa)
  --ttl DURATION   lifetime: 3600, 90s, 15m, 1h (default 1h, at most 12h)
  --groups G1,G2   groups the identity provider asserts, added to the directory's (in the
                   claim the issuer's claims.groups names)
  --config FILE    the configuration (default: $${ENV.config}, else ./iamgate.yaml, else the
                   example configuration that npm start runs)

Use it as: curl -H "Authorization: Bearer $(iamgate token alice)" http://127.0.0.1:8400/...`;

const MAX_TTL_SECONDS = 12 * 3600;
/** The example configuration (`npm start`), used when no other is named or found. */
const EXAMPLE_CONFIG = fileURLToPath(new URL('../../policies/iamgate.yaml', import.meta.url));

/** --config, else $IAMGATE_CONFIG, else ./iamgate.yaml when it exists, else the example configuration. */
async function configFile(option: string | undefined, env: Readonly<Record<string, string | undefined>>): Promise<string> {
  const named = option ?? env[ENV.config];
  if (named !== undefined && named !== '') return resolve(named);
  const local = resolve('iamgate.yaml');
  return access(local).then(
    () => local,
    () => EXAMPLE_CONFIG,
  );
}

interface Options {
  readonly user: string;
  readonly mfa: boolean;
  readonly ttlSeconds: number;
  readonly groups?: readonly string[];
  readonly config?: string;
}

/** `3600`, `90s`, `15m`, `1h` → seconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+)([smh]?)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1;
  return n * unit;
}

function parseArgs(argv: readonly string[]): Options | 'help' | string {
  let user: string | undefined;
  let mfa = false;
  let ttlSeconds = 3600;
  let groups: string[] | undefined;
  let config: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--mfa') mfa = true;
    else if (arg === '--ttl') {
      const ttl = parseDuration(argv[++i] ?? '');
      if (ttl === undefined || ttl < 1 || ttl > MAX_TTL_SECONDS) return `--ttl must be a duration from 1s to 12h (e.g. 15m, 1h)`;
      ttlSeconds = ttl;
    } else if (arg === '--groups') {
      // A flag in the list's place (`--groups --mfa`) is the list left out, not a group named "--mfa".
      const list = argv[++i];
      groups = list === undefined || list.startsWith('-') ? [] : list.split(',').filter((g) => g !== '');
      if (groups.length === 0) return '--groups needs one or more group names, comma-separated (--groups developers,auditors)';
    } else if (arg === '--config') {
      config = argv[++i];
      if (config === undefined || config.startsWith('-')) return '--config needs a file';
    } else if (arg.startsWith('-')) return unknownArgument(arg, ['--mfa', '--ttl', '--groups', '--config', '--help']);
    else if (user === undefined) user = arg;
    else return `unexpected argument: ${arg}`;
  }
  if (user === undefined) return 'no USER given';
  return { user, mfa, ttlSeconds, ...(groups ? { groups } : {}), ...(config !== undefined ? { config } : {}) };
}

/** Runs `iamgate token`; returns the exit code. */
export async function runToken(argv: readonly string[], out: CliIo, env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const opts = parseArgs(argv);
  if (opts === 'help') {
    out.stdout(HELP);
    return EXIT.ok;
  }
  if (typeof opts === 'string') {
    out.stderr(`iamgate token: ${opts}\n${USAGE}`);
    return EXIT.usage;
  }
  const file = await configFile(opts.config, env);
  const loaded = await loadConfig({ file, env });
  if (!loaded.ok) {
    const other = await (await import('./file-kinds.js')).notAConfiguration(file);
    if (other !== undefined) {
      out.stderr(`iamgate token: ${file} is ${other}, not a configuration; pass the iamgate.yaml that names it (--config or IAMGATE_CONFIG)`);
      return EXIT.failed;
    }
    out.stderr(`iamgate token: the configuration ${file} has ${loaded.problems.length} problem(s):`);
    for (const line of configProblemLines(loaded.problems)) out.stderr(line);
    return EXIT.failed;
  }
  const { config } = loaded;
  if (config.mode !== 'development') {
    out.stderr(`iamgate token: refused: ${file} is not a development configuration (mode: development); development keys are never trusted in production`);
    return EXIT.failed;
  }
  // Only now the whole typed configuration: a production file is refused above before its
  // production-only requirements are reported.
  const typed = await loadTypedConfig({ file, env });
  if (!typed.ok) {
    out.stderr(`iamgate token: the configuration ${file} has ${typed.problems.length} problem(s):`);
    for (const line of configProblemLines(typed.problems)) out.stderr(line);
    return EXIT.failed;
  }
  const issuer = typed.config.auth.issuers.find((i) => i.developmentKey && i.keyFile !== undefined);
  if (!issuer?.keyFile) {
    out.stderr(`iamgate token: ${file} has no auth.issuers entry with developmentKey: true and a keyFile`);
    return EXIT.failed;
  }
  // What a flag asks for must reach the gateway: groups travel in the claim the issuer names, and a
  // second factor in `amr` only where the issuer reads it. Otherwise the token would silently lack it.
  if (opts.groups && issuer.claims.groups === undefined) {
    out.stderr(`iamgate token: --groups needs the development issuer "${issuer.name}" to read groups from a claim: set its claims.groups (claims: { groups: groups }) in ${file}`);
    return EXIT.failed;
  }
  if (opts.mfa && !issuer.claims.amrMfa) {
    out.stderr(`iamgate token: --mfa needs the development issuer "${issuer.name}" to read a second factor from amr: set its claims.amrMfa: true in ${file}`);
    return EXIT.failed;
  }
  // Only the user's name is needed: a broken policy elsewhere does not stop a development token.
  const { users, findings } = await readDirectoryUsers(config.policies.directory);
  if (!users) {
    out.stderr(`iamgate token: cannot read the users of the directory ${config.policies.directory}:`);
    for (const line of formatProblems(findings)) out.stderr(`  ${line}`);
    return EXIT.failed;
  }
  if (!users.includes(opts.user)) {
    const near = didYouMean(opts.user, users);
    out.stderr(`iamgate token: no user "${opts.user}" in ${config.policies.directory}${near} (users: ${users.join(', ')})`);
    return EXIT.failed;
  }
  const keyFile = isAbsolute(issuer.keyFile) ? issuer.keyFile : resolve(dirname(file), issuer.keyFile);
  const token = await mintDevelopmentToken({
    issuer,
    keyFile,
    user: opts.user,
    mfa: opts.mfa,
    ttlSeconds: opts.ttlSeconds,
    ...(opts.groups ? { groups: opts.groups } : {}),
    now: Date.now(),
  });
  out.stdout(token);
  return EXIT.ok;
}
