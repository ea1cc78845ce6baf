// Process exit codes shared by every iamgate command.
export const EXIT = {
  /** Done, nothing wrong. */
  ok: 0,
  /** The command ran and found problems (error findings, failed cases, a failed check). */
  failed: 1,
  /** The command line itself was wrong. */
  usage: 2,
} as const;
