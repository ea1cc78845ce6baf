// A part a suite starts once before its tests and closes after them (a gateway, a fixture), read
// through one value that stands for it from the moment `beforeAll` has run.
import { afterAll, beforeAll } from 'vitest';

/**
 * Starts `start()` before the tests of the enclosing `describe` (or the file) and closes it with
 * `close` after them. What it returns reads through to the started part: use it inside tests and
 * hooks only (before, reading it throws; `in` says false until it has started). A suite's own
 * `afterAll` hooks run before this one's (vitest runs them last registered first), so they still
 * find the part open.
 */
export function useStarted<T extends object>(what: string, start: () => Promise<T>, close: (started: T) => Promise<void>, timeoutMs?: number): T {
  let current: T | undefined;
  beforeAll(async () => {
    current = await start();
  }, timeoutMs);
  afterAll(async () => {
    if (current) await close(current);
  });
  return new Proxy({} as T, {
    get(_, key) {
      if (!current) throw new Error(`${what} is not started yet (use it inside tests or hooks)`);
      return Reflect.get(current, key);
    },
    has: (_, key) => current !== undefined && Reflect.has(current, key),
  });
}
