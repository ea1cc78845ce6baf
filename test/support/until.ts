// Waiting for a condition the system promises will come to hold, with a deadline: how the suites
// wait, never by sleeping a fixed time and hoping.

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Whether `check` comes to hold within `timeoutMs` (polled every `everyMs`), for a caller that must go
 * on either way (a load phase that records the answer, a failure message of its own); otherwise
 * `until`, whose failure names what was awaited.
 */
export async function holdsWithin(check: () => boolean | Promise<boolean>, timeoutMs = 5_000, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await pause(everyMs);
  }
}

/** Resolves once `check` holds; throws naming `what` when it has not within `timeoutMs`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 20): Promise<void> {
  if (!(await holdsWithin(check, timeoutMs, everyMs))) throw new Error(`not within ${timeoutMs} ms: ${what}`);
}
