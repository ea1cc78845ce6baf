// `iamgate diff OLD NEW [--fail-on new-access] [--check-not-granted ACTION...] [--json]`: who gains
// and who loses which route or action between two policy folders (either may be a git revision of
// the other's folder, e.g. `iamgate diff main policies`).
import { stat } from 'node:fs/promises';
import { checkoutRevision, describeCell, diffAccess, formatFinding, grantsOf, loadPolicyWorld, type Checkout, type PolicyWorld } from '../policy-testing/index.js';
import { EXIT, unknownArgument } from './exit.js';
import type { CliIo } from './io.js';

const USAGE = 'usage: iamgate diff OLD NEW [--fail-on new-access] [--check-not-granted ACTION...] [--json]\n  OLD, NEW: policy folders, or a git revision (REV or REV:path) of the other one\'s folder';

/** What --help prints: the usage, then what the command does and what each option means. */
const HELP_TEXT = [
  USAGE,
  '',
  'Prints who gains and who loses which route or action between two policy folders (docs/policy-workflow.md);',
  '`iamgate diff main policies` compares policies/ as it is at main with the working copy.',
  '',
  '  --fail-on new-access        exit 1 when anything is newly allowed or newly conditional',
  '  --check-not-granted ACTION  exit 1 when anyone holds one of the actions under NEW (one or more)',
  '  --json                      one JSON object: the changes, their counts and the not-granted result',
].join('\n');

const HELP = 'help';

interface DiffArgs {
  readonly sides: string[];
  failOnNew: boolean;
  json: boolean;
  readonly notGranted: string[];
}

function parseArgs(argv: readonly string[]): DiffArgs | string {
  const args: DiffArgs = { sides: [], failOnNew: false, json: false, notGranted: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') return HELP;
    if (arg === '--json') args.json = true;
    else if (arg === '--fail-on') {
      if (argv[++i] !== 'new-access') return '--fail-on takes new-access';
      args.failOnNew = true;
    } else if (arg === '--check-not-granted') {
      while (i + 1 < argv.length && !(argv[i + 1] as string).startsWith('--')) args.notGranted.push(argv[++i] as string);
      if (args.notGranted.length === 0) return '--check-not-granted needs at least one action';
    } else if (arg.startsWith('-')) return unknownArgument(arg, ['--fail-on', '--check-not-granted', '--json', '--help']);
    else args.sides.push(arg);
  }
  return args.sides.length === 2 ? args : 'diff takes two policy folders or revisions';
}

async function isFolder(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function load(dir: string, io: CliIo): Promise<PolicyWorld | undefined> {
  const l = await loadPolicyWorld(dir);
  if (l.ok) return l.world;
  for (const f of l.findings.filter((x) => x.severity === 'error')) io.stderr(formatFinding(f));
  io.stderr(`${dir}: the policies do not load`);
  return undefined;
}

/** Runs the diff command; resolves to the exit code. */
export async function runDiff(argv: readonly string[], io: CliIo, now: () => number = Date.now): Promise<number> {
  const args = argv.includes('--help') || argv.includes('-h') ? HELP : parseArgs(argv);
  if (args === HELP) {
    io.stdout(HELP_TEXT);
    return EXIT.ok;
  }
  if (typeof args === 'string') {
    io.stderr(`iamgate diff: ${args}\n${USAGE}`);
    return EXIT.usage;
  }
  const [oldArg, newArg] = args.sides as [string, string];
  const checkouts: Checkout[] = [];
  try {
    const folders: string[] = [];
    for (const [side, other] of [[oldArg, newArg], [newArg, oldArg]] as const) {
      if (await isFolder(side)) folders.push(side);
      else if (await isFolder(other)) {
        const c = await checkoutRevision(side, other);
        checkouts.push(c);
        folders.push(c.dir);
      } else {
        io.stderr(`iamgate diff: neither ${oldArg} nor ${newArg} is a policy folder (one must be; the other may be a git revision of it)`);
        return EXIT.failed;
      }
    }
    const before = await load(folders[0] as string, io);
    const after = await load(folders[1] as string, io);
    if (!before || !after) return EXIT.failed;
    const at = now();
    const diff = diffAccess(before, after, at);
    const granted = args.notGranted.length > 0 ? grantsOf(after, args.notGranted, at) : [];
    const gained = diff.changes.filter((c) => c.direction === 'gain').length;
    if (args.json) {
      io.stdout(JSON.stringify({ old: oldArg, new: newArg, ...diff, gained, lost: diff.changes.length - gained, notGranted: args.notGranted.length > 0 ? { actions: args.notGranted, granted } : undefined }));
    } else {
      for (const c of diff.changes) {
        io.stdout(`${c.direction === 'gain' ? '+' : '-'} ${c.principal}: ${c.column} — ${describeCell(c.after)} (was ${describeCell(c.before)})`);
      }
      io.stdout(`${diff.principals} principals × ${diff.columns} routes and actions: ${gained} gained, ${diff.changes.length - gained} lost`);
      if (args.notGranted.length > 0) {
        for (const g of granted) io.stdout(`! ${g.principal} is granted ${g.action} on ${g.resource} (${describeCell(g.cell)})`);
        io.stdout(granted.length === 0 ? `not granted to anyone: ${args.notGranted.join(', ')}` : `${granted.length} grant(s) of actions that must not be granted`);
      }
    }
    if (args.failOnNew && gained > 0) return EXIT.failed;
    return granted.length > 0 ? EXIT.failed : EXIT.ok;
  } catch (err) {
    io.stderr(`iamgate diff: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    return EXIT.failed;
  } finally {
    for (const c of checkouts) await c.remove();
  }
}
