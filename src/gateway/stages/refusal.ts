// What the reader of the request already refused (a forward-auth call that describes two requests,
// HTTP the listener could not take, a check without HTTP attributes): answered and audited here.
import { CONTINUE, type StageFactory } from './stage.js';

export const refusal: StageFactory = () => ({
  name: 'refusal',
  run(ctx) {
    const r = ctx.override?.refusal;
    if (!r) return CONTINUE;
    return { code: r.code, reason: r.reason ?? r.code, detail: r.detail, ...(r.message !== undefined ? { message: r.message } : {}) };
  },
});
