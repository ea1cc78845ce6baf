// Framing iamgate would not forward as decided: two Host headers (which one the upstream reads is
// not knowable), or a Transfer-Encoding other than exactly one `chunked` (an unknown coding would
// send the upstream a body that never ends).
import { errorBody } from '../../errors/index.js';
import { CONTINUE, type StageFactory } from './stage.js';

export const framing: StageFactory = () => ({
  name: 'framing',
  run(ctx) {
    if (ctx.headers.hostCount > 1) {
      return { code: 'bad_header', reason: 'bad_header', body: { ...errorBody('bad_header', ctx.facts.requestId), reason: 'duplicate_host' }, detail: 'duplicate_host' };
    }
    if (!ctx.headers.knownTransferCoding) return { code: 'malformed_request', reason: 'malformed_request', detail: 'unsupported transfer coding' };
    return CONTINUE;
  },
});
