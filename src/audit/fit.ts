// Keeps every record within one atomic pipe write. On a pipe other writers share (the workers of
// `serve --workers`, the logger), a write of at most PIPE_BUF bytes lands whole; a longer one can
// be split by a full pipe and another writer's line land inside it. FIELD_LIMITS keep a record of
// plain ASCII under that size, but a character can take up to 6 bytes once UTF-8 encoded and
// JSON-escaped (`\u0001`): a record past PIPE_BUF is encoded again from its event with every string
// cut shorter, before it is sealed, so the chain holds the record as written.
import { cutText, text } from './build.js';
import { HASH_MEMBER_BYTES } from './chain.js';
import type { EventEncoder } from './encode.js';
import type { AuditEventInput } from './schema.js';

/** PIPE_BUF on Linux: the largest write to a pipe that never interleaves with other writers'. */
export const PIPE_BUF = 4096;

/** Longest canonical text a record may have: the chain adds its hash member and a newline. */
const MAX_TEXT_BYTES = PIPE_BUF - HASH_MEMBER_BYTES;
/** At most 3 UTF-8 bytes per UTF-16 unit: a text of at most this many units fits without counting its bytes. */
const SURELY_FITS = Math.floor(MAX_TEXT_BYTES / 3);
/** The cuts tried in turn, in characters per string; the last keeps of each non-empty string only the cut mark. */
const CUTS = [128, 32, 8, 0] as const;

/** The value with every string cut to `limit` characters with the cut mark (a string holding a bearer token is redacted first). */
function cutStrings(value: unknown, limit: number): unknown {
  if (typeof value === 'string') return cutText(text(value, value.length) as string, limit);
  if (Array.isArray(value)) return value.map((item) => cutStrings(item, limit));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = cutStrings(item, limit);
  return out;
}

/** The closed members that say what the record is: never cut. */
function keepClosed(cut: Record<string, unknown>, event: AuditEventInput): AuditEventInput {
  return { ...cut, kind: event.kind, reason: event.reason, ...(event.decision === undefined ? {} : { decision: event.decision }), ...(event.cache === undefined ? {} : { cache: event.cache }), ...(event.shadow === undefined ? {} : { shadow: event.shadow }) } as AuditEventInput;
}

/** An encoder whose text, once sealed, always fits one atomic pipe write (see above). */
export function fitEncoder(encode: EventEncoder): EventEncoder {
  return (event, seq, prev) => {
    const full = encode(event, seq, prev);
    // Nearly every record is settled by its length alone.
    if (full.length <= SURELY_FITS || Buffer.byteLength(full) <= MAX_TEXT_BYTES) return full;
    let fitted = full;
    for (const limit of CUTS) {
      fitted = encode(keepClosed(cutStrings(event, limit) as Record<string, unknown>, event), seq, prev);
      if (Buffer.byteLength(fitted) <= MAX_TEXT_BYTES) return fitted;
    }
    return fitted;
  };
}
