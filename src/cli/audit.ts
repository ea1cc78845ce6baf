// `iamgate audit verify|report|suggest-policy`: checks a trail's integrity, reports access from it,
// and generates a least-privilege policy from what a principal actually used.
import { formatFinding, knownFileReason, readTextFile } from '../config/index.js';
import { DEFAULT_STREAM, fileOrder, lastAccessed, principalMatcher, readDecisions, readPublicKeys, readRecord, readTrailFile, readTrailFiles, readTrailStream, suggestPolicy, trailSet, unusedPermissions, verifyTrail, withMissingFiles, type PrincipalGrants, type TrailEntry, type VerifyReport } from '../audit/index.js';
import { loadDirectory, type Directory } from '../identity/index.js';
import { didYouMean } from '../policy/index.js';
import { AUDIT_SUBCOMMANDS } from './commands.js';
import { EXIT, unknownArgument } from './exit.js';
import type { CliIo } from './io.js';
import { readTrailRedis } from './trail-redis.js';

/** `audit verify` exit code for a trail that is intact as far as it goes but not proven to the end. */
export const EXIT_INCOMPLETE = 3;

const USAGE_LINES = `usage:
  iamgate audit verify FILE... [--rotated] [--public-key FILE] [--head HEAD]... [--json]
  iamgate audit verify --redis URL [--stream KEY] [--public-key FILE] [--head HEAD]... [--json]
  iamgate audit report FILE [--since TIME] [--directory FILE] [--json]
  iamgate audit suggest-policy FILE --principal ARN [--since TIME] [--max-resources N]`;

/** What a usage error prints under its one line: the forms, not the whole help, so the error stays in view. */
const USAGE = `${USAGE_LINES}
iamgate audit --help says what each does and what it exits with.`;

const HELP = `${USAGE_LINES}

verify          checks every record's hash, the chain links, sequence numbers and the signed
                digests; names each record that is altered, missing, reordered or inserted.
                Exit 0: intact and closed. 1: tampered. 3: intact as far as it goes, but not
                proven to the end (a torn last line, a chain still open or cut short, dropped
                records). --public-key: PEM, JWK or JWKS of the keys digests must be signed
                with (without it each chain's own published key is used, which proves nothing
                against someone who rewrote the whole trail). The stream defaults to
                ${DEFAULT_STREAM}. Several FILEs are one trail, oldest first (a file and
                the files it was rotated into): a chain carries on across them, and a file
                left out or given out of order shows as missing or reordered records.
                --rotated: FILE is the file being written; its rotated files (FILE.000001,
                FILE.000002, ...) are read first, in order, and a number missing among them
                is reported as a missing file.
                --head: how far a writer had written its chain, read outside the trail:
                INSTANCE=SEQ[:HASH] (the iamgate_audit_chain_head_seq metric), or a file
                holding what GET /audit/head on the operations port answered (one head or
                a JSON array); of several heads for one writer, the furthest counts. A
                chain that ends before its head had its tail cut off (truncated: exit 1);
                a crash never ends one there.
report          for each principal and action, allowed/denied counts and when last allowed;
                with --directory, the Allow statements no allowed request used (unused access).
suggest-policy  a least-privilege identity policy from the actions and resources the principal
                (a role includes its sessions) was allowed, checked by the policy engine.
TIME is an ISO date (2025-03-01T00:00:00Z) or an age: 90d, 12h, 30m.`;

type Flags = { readonly positional: string[]; readonly values: Map<string, string>; readonly switches: Set<string>; readonly heads: string[] };

const VALUE_FLAGS = new Set(['--public-key', '--redis', '--stream', '--since', '--directory', '--principal', '--max-resources']);
const SWITCHES = new Set(['--json', '--rotated', '--help', '-h']);

/**
 * What each subcommand takes: its options, and whether it reads several files. Anything else is a
 * usage error, so an option meant for another subcommand (`report --principal`) is never silently
 * ignored.
 */
const TAKES: Readonly<Record<string, { readonly options: readonly string[]; readonly files: 'one' | 'many' }>> = {
  verify: { options: ['--rotated', '--public-key', '--head', '--redis', '--stream', '--json'], files: 'many' },
  report: { options: ['--since', '--directory', '--json'], files: 'one' },
  'suggest-policy': { options: ['--principal', '--since', '--max-resources'], files: 'one' },
};

/** Splits the arguments of `sub`; a string is a usage error. */
function parseFlags(sub: string, argv: readonly string[]): Flags | string {
  const takes = TAKES[sub];
  const accepted = new Set(['--help', '-h', ...(takes?.options ?? ['--head', ...VALUE_FLAGS, ...SWITCHES])]);
  const positional: string[] = [];
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const heads: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!accepted.has(arg)) {
      if (arg.startsWith('-')) return unknownArgument(arg, [...accepted]);
      if (takes?.files === 'one' && positional.length > 0) return `unexpected argument: ${arg} (${sub} reads one FILE)`;
      positional.push(arg);
    } else if (arg === '--head') {
      const value = argv[++i];
      if (value === undefined) return `${arg} needs a value`;
      heads.push(value);
    } else if (VALUE_FLAGS.has(arg)) {
      const value = argv[++i];
      if (value === undefined) return `${arg} needs a value`;
      values.set(arg, value);
    } else switches.add(arg);
  }
  return { positional, values, switches, heads };
}

type Heads = Map<string, { seq: number; hash?: string }>;

/**
 * Keeps, of the heads given for one writer (a monitor's successive polls), the furthest: it proves
 * the most; at the same seq, the one with its hash.
 */
function keepFurthest(heads: Heads, instanceId: string, head: { seq: number; hash?: string }): void {
  const known = heads.get(instanceId);
  if (known === undefined || head.seq > known.seq || (head.seq === known.seq && known.hash === undefined)) heads.set(instanceId, head);
}

const HEAD_INLINE = /^(.+)=(\d+)(?::([0-9a-f]{64}))?$/;
const HASH_HEX = /^[0-9a-f]{64}$/;

/** One head as JSON (`{"instanceId","seq","hash"?}`), or why it is not one. */
function headOf(value: unknown, where: string, heads: Heads): string | undefined {
  const o = value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  const { instanceId, seq, hash } = o ?? {};
  if (typeof instanceId !== 'string' || typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0 || (hash !== undefined && (typeof hash !== 'string' || !HASH_HEX.test(hash)))) {
    return `${where}: a head is {"instanceId": string, "seq": whole number, "hash"?: 64 hex digits}, as GET /audit/head answers`;
  }
  keepFurthest(heads, instanceId, { seq, ...(hash !== undefined ? { hash } : {}) });
  return undefined;
}

/** Reads the --head values: INSTANCE=SEQ[:HASH], or a file holding one head or an array of them; a string is an error. */
async function readHeads(values: readonly string[]): Promise<Heads | string> {
  const heads: Heads = new Map();
  for (const value of values) {
    const inline = HEAD_INLINE.exec(value);
    if (inline) {
      const seq = Number(inline[2]);
      if (!Number.isSafeInteger(seq)) return `--head ${value}: the seq is not a whole number iamgate can write`;
      keepFurthest(heads, inline[1] as string, { seq, ...(inline[3] !== undefined ? { hash: inline[3] } : {}) });
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readTextFile(value));
    } catch (err) {
      const reason = knownFileReason(err) ?? 'not JSON';
      return `--head ${value}: neither INSTANCE=SEQ[:HASH] nor a readable JSON file (${reason})`;
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    for (const [i, head] of list.entries()) {
      const wrong = headOf(head, Array.isArray(parsed) ? `--head ${value} [${i}]` : `--head ${value}`, heads);
      if (wrong !== undefined) return wrong;
    }
  }
  return heads;
}

/** Reads `--since`: an ISO time or an age (`90d`, `12h`, `30m`); a string is a usage error. */
export function parseSince(value: string | undefined, now: number): number | string {
  if (value === undefined) return 0;
  const age = /^(\d+)([dhm])$/.exec(value);
  if (age) return now - Number(age[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[age[2] as 'd' | 'h' | 'm'];
  const time = Date.parse(value);
  return Number.isNaN(time) ? `--since: "${value}" is neither an ISO time nor an age like 90d` : time;
}

/**
 * A trail file's entries, noting whether one of them is an audit record (looked for only until the
 * first is found). A file with none is not a trail at all, and an empty report of it would mislead.
 */
function noticingRecords(file: string): { readonly entries: AsyncGenerator<TrailEntry>; readonly found: () => boolean } {
  let found = false;
  async function* entries(): AsyncGenerator<TrailEntry> {
    for await (const entry of readTrailFile(file)) {
      if (!found && readRecord(entry.text) !== undefined) found = true;
      yield entry;
    }
  }
  return { entries: entries(), found: () => found };
}

const notATrail = (command: string, where: string): string => `iamgate audit ${command}: ${where} holds no audit record: give the trail iamgate wrote (audit.sink; docs/audit.md)`;

function printVerify(report: VerifyReport, io: CliIo, json: boolean): void {
  if (json) {
    io.stdout(JSON.stringify(report));
    return;
  }
  for (const f of report.findings) io.stdout(`${f.severity.toUpperCase()} ${f.code}: ${f.message}`);
  for (const c of report.chains) {
    const run = c.run > 1 ? ` (run ${c.run})` : '';
    const signed = c.signedThrough > 0 ? `signed through seq ${c.signedThrough}` : 'not signed';
    io.stdout(`chain ${c.instanceId}${run}: seq ${c.firstSeq}..${c.lastSeq}, ${c.records} records, ${signed}, ${c.closed ? 'closed' : 'open'}`);
  }
  // A trail without a single record is not "intact": it proves nothing.
  const verdict = report.records === 0 && report.status === 'ok' ? 'no audit records' : { ok: 'intact', incomplete: 'INCOMPLETE: intact as far as it goes, not proven to the end', tampered: 'TAMPERED' }[report.status];
  io.stdout(`${report.records} records, ${report.ignored} other lines: ${verdict}`);
}

async function runVerify(flags: Flags, io: CliIo): Promise<number> {
  const file = flags.positional[0];
  const url = flags.values.get('--redis');
  if ((file === undefined) === (url === undefined)) {
    io.stderr('iamgate audit verify: give a FILE or --redis URL\n' + USAGE);
    return EXIT.usage;
  }
  const keyFile = flags.values.get('--public-key');
  let trustedKeys: ReturnType<typeof readPublicKeys> | undefined;
  if (keyFile !== undefined) {
    const text = await readTextFile(keyFile);
    try {
      trustedKeys = readPublicKeys(text);
    } catch {
      // A private key file (the gateway's audit-signing.pem) is the likeliest mix-up: say what is wanted.
      io.stderr(`iamgate audit verify: ${keyFile}: no public key found; --public-key takes a PEM public key (BEGIN PUBLIC KEY), a JWK or a JWKS, such as GET /audit/public-key on the operations port`);
      return EXIT.failed;
    }
  }
  const heads = await readHeads(flags.heads);
  if (typeof heads === 'string') {
    io.stderr(`iamgate audit verify: ${heads}`);
    return EXIT.usage;
  }
  const checks = { ...(trustedKeys ? { trustedKeys } : {}), ...(heads.size > 0 ? { heads } : {}) };
  let report: VerifyReport;
  if (url !== undefined) {
    const stream = flags.values.get('--stream') ?? DEFAULT_STREAM;
    const read = await readTrailRedis(url, (redis) => verifyTrail(readTrailStream(redis, stream), { ...checks, headMayBeTrimmed: true }));
    if (!read.ok) {
      io.stderr(`iamgate audit verify: ${read.reason}`);
      return read.usage ? EXIT.usage : EXIT.failed;
    }
    report = read.value;
  } else {
    if (flags.switches.has('--rotated') && flags.positional.length > 1) {
      io.stderr('iamgate audit verify: --rotated takes one FILE (the file being written)\n' + USAGE);
      return EXIT.usage;
    }
    const set = flags.switches.has('--rotated') ? trailSet(file as string) : { files: flags.positional, missing: [] };
    if (set.files.length === 0) {
      io.stderr(`iamgate audit verify: ${file as string}: no such file, nor rotated files of it`);
      return EXIT.failed;
    }
    const order = fileOrder();
    const verified = await verifyTrail(readTrailFiles(set.files, order.observe), checks);
    report = order.check(withMissingFiles(verified, set.missing));
  }
  printVerify(report, io, flags.switches.has('--json'));
  if (report.records === 0) {
    io.stderr(notATrail('verify', url !== undefined ? `the stream ${flags.values.get('--stream') ?? DEFAULT_STREAM}` : flags.positional.join(', ')));
    return EXIT.failed;
  }
  return report.status === 'ok' ? EXIT.ok : report.status === 'tampered' ? EXIT.failed : EXIT_INCOMPLETE;
}

/** What the directory grants each user and role, for the unused-access report. */
function grantsOf(directory: Directory): PrincipalGrants[] {
  const actionsOf = (policy: string, index: number): readonly string[] | undefined => {
    const doc = directory.policies.get(policy)?.document;
    const statements = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as { Statement?: unknown }).Statement : undefined;
    const statement = Array.isArray(statements) ? statements[index] : index === 0 ? statements : undefined;
    const action = statement !== null && typeof statement === 'object' ? (statement as { Action?: unknown }).Action : undefined;
    if (typeof action === 'string') return [action];
    return Array.isArray(action) ? action.filter((a): a is string => typeof a === 'string') : undefined;
  };
  const grants: PrincipalGrants[] = [];
  for (const p of [...directory.users.values(), ...directory.roles.values()]) {
    grants.push({ arn: p.arn, matches: principalMatcher(p.arn), policies: p.policySet.identity, actionsOf });
  }
  return grants;
}

async function runReport(flags: Flags, io: CliIo, now: number): Promise<number> {
  const file = flags.positional[0];
  if (file === undefined) {
    io.stderr('iamgate audit report: give a FILE\n' + USAGE);
    return EXIT.usage;
  }
  const since = parseSince(flags.values.get('--since'), now);
  if (typeof since === 'string') {
    io.stderr(`iamgate audit report: ${since}`);
    return EXIT.usage;
  }
  const json = flags.switches.has('--json');
  const trail = noticingRecords(file);
  const uses = await lastAccessed(readDecisions(trail.entries, since));
  if (!trail.found()) {
    io.stderr(notATrail('report', file));
    return EXIT.failed;
  }
  const directoryFile = flags.values.get('--directory');
  let unused: ReturnType<typeof unusedPermissions> | undefined;
  if (directoryFile !== undefined) {
    const { directory, findings } = await loadDirectory(directoryFile);
    if (!directory) {
      for (const f of findings) io.stderr(formatFinding({ ...f, file: f.file ?? directoryFile }));
      return EXIT.failed;
    }
    unused = unusedPermissions(uses, grantsOf(directory));
  }
  const period = since > 0 ? `since ${new Date(since).toISOString()}` : 'in the whole trail';
  if (json) {
    io.stdout(JSON.stringify({ period, lastAccessed: uses, ...(unused ? { unused } : {}) }));
    return EXIT.ok;
  }
  io.stdout(`Last accessed (${period}): principal, action, allowed, denied, last allowed`);
  for (const u of uses) io.stdout(`  ${u.principal}  ${u.action}  ${u.allowed}  ${u.denied}  ${u.lastAllowed ?? 'never'}`);
  if (!unused) {
    io.stdout('Unused access: not reported (usage only): pass --directory FILE to compare with what the policies grant.');
    return EXIT.ok;
  }
  io.stdout(`Unused access (${period}): granted, and used by no allowed request`);
  for (const u of unused) {
    const what = u.wholeStatement ? 'whole statement' : 'actions';
    io.stdout(`  ${u.principal}  ${u.statement}  ${what}${u.actions ? ` [${u.actions.join(', ')}]` : ''}`);
  }
  if (unused.length === 0) io.stdout('  none');
  return EXIT.ok;
}

async function runSuggest(flags: Flags, io: CliIo, now: number): Promise<number> {
  const file = flags.positional[0];
  const principal = flags.values.get('--principal');
  const since = parseSince(flags.values.get('--since'), now);
  const maxResources = Number(flags.values.get('--max-resources') ?? '20');
  if (file === undefined || principal === undefined || typeof since === 'string' || !(Number.isInteger(maxResources) && maxResources > 0)) {
    io.stderr(`iamgate audit suggest-policy: ${typeof since === 'string' ? since : 'give FILE, --principal ARN and, optionally, --max-resources N (N > 0)'}\n${USAGE}`);
    return EXIT.usage;
  }
  const trail = noticingRecords(file);
  const suggestion = await suggestPolicy(readDecisions(trail.entries, since), { principal, maxResources });
  if (!trail.found()) {
    io.stderr(notATrail('suggest-policy', file));
    return EXIT.failed;
  }
  if (!suggestion.policy) {
    io.stderr(`iamgate audit suggest-policy: ${principal} was not allowed anything in ${file}`);
    return EXIT.failed;
  }
  io.stdout(JSON.stringify(suggestion.policy, null, 2));
  io.stderr(`from ${suggestion.requests} allowed request${suggestion.requests === 1 ? '' : 's'}${suggestion.generalised.length ? `; resources merged into a wildcard for ${suggestion.generalised.join(', ')}` : ''}`);
  for (const f of suggestion.findings) io.stderr(`${f.severity} ${f.code} at ${f.path}: ${f.message}`);
  return suggestion.findings.some((f) => f.severity === 'error') ? EXIT.failed : EXIT.ok;
}

/** Runs `iamgate audit ...`; resolves to the exit code. */
export async function runAudit(argv: readonly string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  const [sub, ...rest] = argv;
  const flags = parseFlags(sub ?? '', rest);
  if (sub === undefined) {
    io.stderr(`iamgate audit: no subcommand given (verify, report or suggest-policy)\n${USAGE}`);
    return EXIT.usage;
  }
  if (sub === '--help' || sub === '-h' || (typeof flags !== 'string' && flags.switches.has('--help'))) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  if (typeof flags === 'string') {
    io.stderr(`iamgate audit ${sub}: ${flags}\n${USAGE}`);
    return EXIT.usage;
  }
  if (sub === 'verify') return runVerify(flags, io);
  if (sub === 'report') return runReport(flags, io, now());
  if (sub === 'suggest-policy') return runSuggest(flags, io, now());
  io.stderr(`iamgate audit: unknown subcommand "${sub}"${didYouMean(sub, AUDIT_SUBCOMMANDS)}\n${USAGE}`);
  return EXIT.usage;
}
