// Random trace and span ids, drawn from a pooled buffer refilled by the kernel's CSPRNG: one
// randomFillSync per 256 ids instead of one allocation per id on the request path.
import { randomFillSync } from 'node:crypto';
import type { TraceIds } from './traceparent.js';

const POOL_BYTES = 4096;
const NOT_ALL_ZERO = /[^0]/;

/** Creates an id source; never returns an all-zero id (invalid in W3C Trace Context). */
export function createTraceIds(): TraceIds {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let offset = POOL_BYTES;
  const hex = (bytes: number): string => {
    for (;;) {
      if (offset + bytes > POOL_BYTES) {
        randomFillSync(pool);
        offset = 0;
      }
      const id = pool.toString('hex', offset, offset + bytes);
      offset += bytes;
      if (NOT_ALL_ZERO.test(id)) return id;
    }
  };
  return { traceId: () => hex(16), spanId: () => hex(8) };
}
