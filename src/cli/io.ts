// Where a CLI command writes: injected so tests capture output without spawning a process.
import { createTextRedactor } from '../app/index.js';
import { formatProblems, type Finding } from '../config/index.js';
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/**
 * Writes lines to the process's own stdout and stderr. When the reader of one has gone
 * (`iamgate audit report | head`, or `... 2>&1 | head` for both), the rest of its output has nowhere
 * to go and is dropped, and the command finishes with its own exit code instead of dying on an
 * unhandled EPIPE (exit 1). Any other write error is still thrown. Called once, by the executable.
 */
export function createProcessIo(): CliIo {
  const gone = { stdout: false, stderr: false };
  const writer = (name: keyof typeof gone): ((line: string) => void) => {
    process[name].on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      gone[name] = true;
    });
    return (line) => {
      if (!gone[name]) process[name].write(`${line}\n`);
    };
  };
  return { stdout: writer('stdout'), stderr: writer('stderr') };
}

const redactText = createTextRedactor([]);

/**
 * The problems of a configuration that could not be loaded, one indented line each, redacted of
 * tokens and TOTP codes: a problem can quote the file (a YAML error shows the line it failed on).
 */
export function configProblemLines(problems: readonly Finding[]): string[] {
  return formatProblems(problems).map((line) => `  ${redactText(line)}`);
}
