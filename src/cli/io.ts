// Where a CLI command writes: injected so tests capture output without spawning a process.
import { createTextRedactor } from '../app/index.js';
import { formatProblems, type Finding } from '../config/index.js';
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/**
 * Writes lines to the process's own stdout and stderr. When the reader of stdout has gone
 * (`iamgate audit report | head`), the rest of the output has nowhere to go and is dropped, and the
 * command finishes with its own exit code instead of dying on an unhandled EPIPE with a stack
 * trace. Any other stdout error is still thrown. Called once, by the executable.
 */
export function createProcessIo(): CliIo {
  let stdoutGone = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    stdoutGone = true;
  });
  return {
    stdout: (line) => {
      if (!stdoutGone) process.stdout.write(`${line}\n`);
    },
    stderr: (line) => process.stderr.write(`${line}\n`),
  };
}

const redactText = createTextRedactor([]);

/**
 * The problems of a configuration that could not be loaded, one indented line each, redacted of
 * tokens and TOTP codes: a problem can quote the file (a YAML error shows the line it failed on).
 */
export function configProblemLines(problems: readonly Finding[]): string[] {
  return formatProblems(problems).map((line) => `  ${redactText(line)}`);
}
