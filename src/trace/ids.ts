// Random trace and span ids, drawn from a pooled buffer refilled by the kernel's CSPRNG: one
// randomFillSync and one hex conversion per 4 KiB (about 170 requests' trace and span ids) instead
// of a conversion per id. An id is a slice of that hex text, so drawing one calls into no C++.
import { randomFillSync } from 'node:crypto';
import type { TraceIds } from './traceparent.js';

const POOL_BYTES = 4096;
const TRACE_ID_CHARS = 32;
const SPAN_ID_CHARS = 16;
const ZERO_TRACE_ID = '0'.repeat(TRACE_ID_CHARS);
const ZERO_SPAN_ID = '0'.repeat(SPAN_ID_CHARS);

/** Creates an id source; never returns an all-zero id (invalid in W3C Trace Context). */
export function createTraceIds(): TraceIds {
  const pool = Buffer.allocUnsafe(POOL_BYTES);
  let text = '';
  let offset = 0;
  const hex = (chars: number, zero: string): string => {
    for (;;) {
      if (offset + chars > text.length) {
        randomFillSync(pool);
        text = pool.toString('hex');
        offset = 0;
      }
      const id = text.slice(offset, offset + chars);
      offset += chars;
      if (id !== zero) return id;
    }
  };
  return { traceId: () => hex(TRACE_ID_CHARS, ZERO_TRACE_ID), spanId: () => hex(SPAN_ID_CHARS, ZERO_SPAN_ID) };
}
