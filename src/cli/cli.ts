// `iamgate <command> [...args]`: finds the command in the table and runs it.
import { COMMANDS, type Command } from './commands.js';
import { EXIT, unknownArgument } from './exit.js';
import type { CliIo } from './io.js';
import { knownFileReason, TextFileError } from '../config/index.js';
import { didYouMean } from '../policy/index.js';
import { iamgateVersion } from '../app/version.js';

const SYNOPSIS = 'usage: iamgate <command> [...args]';

function help(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    SYNOPSIS,
    '',
    'commands:',
    ...lines,
    `  ${'version'.padEnd(width)}  print iamgate's version (also --version)`,
    '',
    "iamgate <command> --help (or iamgate help <command>) shows a command's options.",
    'Exit codes: 0 done, nothing wrong; 1 problems found or the command failed; 2 a usage error.',
    '(audit verify also exits 3: a trail intact as far as it goes but not proven to the end.)',
  ].join('\n');
}

const VERSION_USAGE = 'usage: iamgate version (or iamgate --version)';

/** `iamgate version`: the version on stdout; --help its usage; any other argument a usage error. */
function version(argv: readonly string[], io: CliIo): number {
  const [arg] = argv;
  if (arg === '--help' || arg === '-h') {
    io.stdout(`${VERSION_USAGE}\n\nPrints iamgate's version (also in the start-up log and the iamgate_build_info metric).`);
    return EXIT.ok;
  }
  if (arg !== undefined) {
    io.stderr(`iamgate version: ${unknownArgument(arg, ['--help'])}\n${VERSION_USAGE}`);
    return EXIT.usage;
  }
  io.stdout(`iamgate ${iamgateVersion()}`);
  return EXIT.ok;
}

/** Runs the iamgate command line; resolves to the exit code (0 ok, 1 findings or failures, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  // `iamgate help CMD` is read as `iamgate CMD --help`, as git and npm read it.
  const asked = name === 'help' ? commands.find((c) => c.name === rest[0]) : undefined;
  if (asked) return runCli([asked.name, '--help'], io, commands);
  if (name === 'help' && rest[0] === 'version') return runCli(['version', '--help'], io, commands);
  if (name === 'help' && rest[0] !== undefined) return runCli([rest[0]], io, commands);
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help(commands));
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V' || name === 'version') return version(rest, io);
  const command = commands.find((c) => c.name === name);
  if (name === undefined) {
    io.stderr(`iamgate: no command given\n${help(commands)}`);
    return EXIT.usage;
  }
  if (!command) {
    // A misspelt command is one line and where to look, not the whole help, which would bury it.
    const meant = didYouMean(name, [...commands.map((c) => c.name), 'version']);
    io.stderr(`iamgate: unknown command "${name}"${meant}\n${SYNOPSIS} (iamgate --help lists the commands)`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const sub = rest[0] !== undefined && command.subcommands?.includes(rest[0]) ? ` ${rest[0]}` : '';
    io.stderr(`iamgate ${command.name}${sub}: ${describeError(err)}`);
    return EXIT.failed;
  }
}

/** A file error as `PATH: reason` (not Node's raw `ENOENT: ..., open 'PATH'`), else the message. */
function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err instanceof TextFileError) return `${err.path}: ${err.message}`;
  const { path } = err as NodeJS.ErrnoException;
  const reason = knownFileReason(err);
  return reason !== undefined && path !== undefined ? `${path}: ${reason}` : err.message;
}
