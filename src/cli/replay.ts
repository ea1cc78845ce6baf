// `iamgate replay TRAIL --policies DIR [--json]` or `iamgate replay --redis URL [--stream KEY]
// --policies DIR`: re-decides the requests of an audit trail under a candidate policy folder and
// prints every decision that would change; exit 1 when any would.
import { DEFAULT_STREAM, readTrailFile, readTrailStream } from '../audit/index.js';
import { formatFinding, loadPolicyWorld, replayTrail, type ReplayReport } from '../policy-testing/index.js';
import { EXIT, unknownArgument } from './exit.js';
import type { CliIo } from './io.js';
import { readTrailRedis } from './trail-redis.js';

const USAGE = 'usage: iamgate replay TRAIL --policies DIR [--json]\n       iamgate replay --redis URL [--stream KEY] --policies DIR [--json]';


function print(report: ReplayReport, io: CliIo): void {
  for (const c of report.changes) {
    const approx = c.missing.length > 0 ? ` [approximate: not recorded: ${c.missing.join(', ')}]` : '';
    io.stdout(
      `${c.after.decision === 'Allow' ? '+' : '-'} ${c.ref} ${c.time} ${c.principal} ${c.method} ${c.path}${c.action ? ` (${c.action})` : ''}: ${c.before.decision} ${c.before.reason} → ${c.after.decision} ${c.after.reason}${approx}`,
    );
  }
  const allowed = report.changes.filter((c) => c.after.decision === 'Allow' && c.before.decision !== 'Allow').length;
  const denied = report.changes.filter((c) => c.after.decision === 'Deny' && c.before.decision === 'Allow').length;
  io.stdout(
    `${report.records} records: ${report.replayed} replayed (${report.approximate} approximate), ${report.changes.length} changed (${allowed} now allowed, ${denied} now denied)`,
  );
  for (const [why, n] of Object.entries(report.skipped).sort()) io.stdout(`  skipped ${n}: ${why}`);
}

/** Runs the replay command; resolves to the exit code. */
export async function runReplay(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(
      [
        USAGE,
        '',
        'Re-decides the request decisions of an audit trail under the policy folder DIR and lists every one',
        'that would change; exit 1 if any would, or if the trail holds no audit record at all',
        '(docs/policy-workflow.md).',
        '',
        '  --policies DIR  the candidate policies: a folder with iamgate.yaml, or with directory.yaml and routes.yaml',
        '  --redis URL     read the trail from the audit Redis Stream instead of a file',
        `  --stream KEY    the stream's key (default ${DEFAULT_STREAM})`,
        '  --json          the report as one JSON object',
      ].join('\n'),
    );
    return EXIT.ok;
  }
  let trail: string | undefined;
  let policies: string | undefined;
  let redis: string | undefined;
  let stream = DEFAULT_STREAM;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--json') json = true;
    else if (arg === '--policies' || arg === '--redis' || arg === '--stream') {
      const value = argv[++i];
      if (value === undefined) {
        io.stderr(`iamgate replay: ${arg} needs a value\n${USAGE}`);
        return EXIT.usage;
      }
      if (arg === '--policies') policies = value;
      else if (arg === '--redis') redis = value;
      else stream = value;
    } else if (arg.startsWith('-') || trail !== undefined) {
      const known = ['--policies', '--redis', '--stream', '--json', '--help'];
      io.stderr(`iamgate replay: ${arg.startsWith('-') ? unknownArgument(arg, known) : `unexpected argument: ${arg}`}\n${USAGE}`);
      return EXIT.usage;
    } else trail = arg;
  }
  if (policies === undefined || (trail === undefined) === (redis === undefined)) {
    const missing = policies === undefined ? 'no --policies DIR given' : trail === undefined ? 'no TRAIL or --redis URL given' : 'give a TRAIL file or --redis URL, not both';
    io.stderr(`iamgate replay: ${missing}\n${USAGE}`);
    return EXIT.usage;
  }
  const load = await loadPolicyWorld(policies);
  if (!load.ok) {
    for (const f of load.findings.filter((x) => x.severity === 'error')) io.stderr(formatFinding(f));
    io.stderr(`iamgate replay: ${policies}: the policies do not load`);
    return EXIT.failed;
  }
  let report: ReplayReport;
  if (redis !== undefined) {
    const read = await readTrailRedis(redis, (client) => replayTrail(readTrailStream(client, stream), load.world));
    if (!read.ok) {
      io.stderr(`iamgate replay: ${read.reason}`);
      return read.usage ? EXIT.usage : EXIT.failed;
    }
    report = read.value;
  } else report = await replayTrail(readTrailFile(trail as string), load.world);
  if (json) io.stdout(JSON.stringify(report));
  else print(report, io);
  // Nothing replayed proves nothing: a wrong file (or an empty stream) must not pass a CI gate.
  if (report.records === 0) {
    const where = redis !== undefined ? `the stream ${stream}` : (trail as string);
    io.stderr(`iamgate replay: ${where} holds no audit record: give the trail iamgate wrote (audit.sink; docs/audit.md)`);
    return EXIT.failed;
  }
  return report.changes.length > 0 ? EXIT.failed : EXIT.ok;
}
