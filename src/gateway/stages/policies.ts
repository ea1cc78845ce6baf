// The policy snapshot the request is decided against, taken once: every later stage (authenticator
// chain, route map, digest) reads this one whole snapshot, never the current one again.
import { CONTINUE, type StageFactory } from './stage.js';

export const policies: StageFactory = (deps) => ({
  name: 'policies',
  run(ctx) {
    const snapshot = deps.snapshot();
    if (!snapshot) return { code: 'not_ready', reason: 'not_ready' };
    ctx.snapshot = snapshot;
    ctx.event.policyGeneration = snapshot.generation;
    return CONTINUE;
  },
});
