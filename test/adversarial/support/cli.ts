// `iamgate` run in-process, as the suites that read a trail back through the command line use it.
import { runCli } from '../../../src/cli/cli.js';

/** Runs `iamgate ARGV...`: its exit code and what it printed, standard output and error in one text. */
export async function cliPrinting(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runCli(argv, { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
  return { code, out: out.join('\n') };
}
