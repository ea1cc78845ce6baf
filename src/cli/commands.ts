// The iamgate commands. Each is loaded only when it runs, so `iamgate validate` does not pay for
// the gateway's dependencies.
import type { CliIo } from './io.js';

export interface Command {
  readonly name: string;
  /** One line for `iamgate --help`. */
  readonly summary: string;
  /** Its subcommands, if any: an error names the one that failed (`iamgate audit verify: ...`). */
  readonly subcommands?: readonly string[];
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  readonly run: (argv: readonly string[], io: CliIo) => Promise<number>;
}

/** `iamgate audit`'s subcommands. */
export const AUDIT_SUBCOMMANDS: readonly string[] = ['verify', 'report', 'suggest-policy'];

// ─── Commands: add a command here (serve, token, audit, ...), in the order --help lists them. ───
export const COMMANDS: readonly Command[] = [
  {
    name: 'serve',
    summary: 'run the gateway (--config FILE; --demo adds the demo orders service)',
    run: async (argv, io) => (await import('./serve.js')).runServe(argv, io),
  },
  {
    name: 'validate',
    summary: 'check policy documents and other iamgate files; exit 1 on errors',
    run: async (argv, io) => (await import('./validate.js')).runValidate(argv, io),
  },
  {
    name: 'simulate',
    summary: 'run authorization cases (--cases FILE.json) through the policy engine',
    run: async (argv, io) => (await import('./simulate.js')).runSimulate(argv, io),
  },
  { name: 'test', summary: 'run policy test suites (policies/tests/ by default); --junit FILE; exit 1 on failure', run: async (argv, io) => (await import('./test.js')).runTest(argv, io) },
  { name: 'diff', summary: 'who gains and who loses access between two policy folders or revisions; --fail-on new-access', run: async (argv, io) => (await import('./diff.js')).runDiff(argv, io) },
  { name: 'replay', summary: 're-decide the requests of an audit trail (file or Redis Stream) under candidate policies (--policies DIR)', run: async (argv, io) => (await import('./replay.js')).runReplay(argv, io) },
  {
    name: 'audit',
    summary: 'verify an audit trail (file or Redis Stream), report access, suggest least-privilege policies',
    subcommands: AUDIT_SUBCOMMANDS,
    run: async (argv, io) => (await import('./audit.js')).runAudit(argv, io),
  },
  {
    name: 'token',
    summary: 'print a development bearer token for a directory user (mode: development only)',
    run: async (argv, io) => (await import('./token.js')).runToken(argv, io),
  },
];
