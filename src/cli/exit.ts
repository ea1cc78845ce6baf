// Process exit codes shared by every iamgate command, and the wording of a usage error they share.
import { didYouMean } from '../policy/index.js';

export const EXIT = {
  /** Done, nothing wrong. */
  ok: 0,
  /** The command ran and found problems (error findings, failed cases, a failed check). */
  failed: 1,
  /** The command line itself was wrong. */
  usage: 2,
} as const;

/** The one wording of a usage error for an argument a command does not take, naming the option meant when it is a near miss. */
export function unknownArgument(arg: string, known: readonly string[]): string {
  return `unknown argument: ${arg}${didYouMean(arg, known)}`;
}
