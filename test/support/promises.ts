// Counts the Promises a piece of code makes, through async_hooks: how the tests pin a path that
// must make none (a cached allow waiting on its audit record).
import { createHook } from 'node:async_hooks';

/** The Promises created while `run` runs (synchronously: what it schedules later is not counted). */
export function promisesMadeBy(run: () => void): number {
  let made = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') made++;
    },
  }).enable();
  try {
    run();
  } finally {
    hook.disable();
  }
  return made;
}
