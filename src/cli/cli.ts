// `iamgate <command> [...args]`: finds the command in the table and runs it.
import { COMMANDS, type Command } from './commands.js';
import { EXIT } from './exit.js';
import type { CliIo } from './io.js';

function help(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return ['usage: iamgate <command> [...args]', '', 'commands:', ...lines, '', 'iamgate <command> --help shows a command\'s options.'].join('\n');
}

/** Runs the iamgate command line; resolves to the exit code (0 ok, 1 findings or failures, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(help(commands));
    return EXIT.ok;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`${name === undefined ? 'iamgate: no command given' : `iamgate: unknown command "${name}"`}\n${help(commands)}`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    io.stderr(`iamgate ${command.name}: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  }
}
