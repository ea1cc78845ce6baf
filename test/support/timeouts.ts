// Deadlines of tests whose time the machine, not the code under test, decides.

/**
 * The deadline of a test that starts a process through tsx (the CLI, a fixture writer): compiling
 * the sources on a cold start has taken over 30 s on a loaded 2-core machine, against vitest's 20 s
 * default. The behaviour such a test checks is not its speed.
 */
export const CHILD_PROCESS_TEST_MS = 120_000;

/** A deadline for one child process inside such a test: shorter, so the test fails with the child's own error. */
export const CHILD_PROCESS_MS = CHILD_PROCESS_TEST_MS - 10_000;
