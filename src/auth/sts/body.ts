// Reading an STS call's JSON body, bounded: a declared length over the limit is refused unread, and
// a stream (chunked, or longer than it said) is read only up to the limit, then cancelled. The body
// is read only after the caller is authenticated, so an unauthenticated call never makes iamgate
// read what it sends. A body that names a member twice, at any depth, is refused: JSON.parse keeps
// the last and other readers the first, so its meaning is a guess.
import { readJsonText } from '../../policy/index.js';

/** At most this many bytes of an STS body are read. */
export const MAX_BODY_BYTES = 16 * 1024;

type Obj = Record<string, unknown>;

/** The body as a JSON object, `{}` when empty; `invalid` when not a JSON object, `too_large` over the limit. */
export type BodyRead = { readonly ok: true; readonly body: Obj } | { readonly ok: false; readonly code: 'invalid_request' | 'request_too_large' };

/** Whether the request announces a body (a length above zero, or a transfer coding). */
export function hasBody(req: Request): boolean {
  if (req.headers.has('transfer-encoding')) return true;
  const length = req.headers.get('content-length');
  return length !== null && length !== '0';
}

async function boundedText(req: Request, max: number): Promise<string | undefined> {
  const declared = req.headers.get('content-length');
  if (declared !== null && !req.headers.has('transfer-encoding') && Number(declared) > max) return undefined;
  if (!req.body) return '';
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Reads the request's JSON object body, never more than `max` bytes of it. */
export async function readJsonBody(req: Request, max: number = MAX_BODY_BYTES): Promise<BodyRead> {
  const text = await boundedText(req, max);
  if (text === undefined) return { ok: false, code: 'request_too_large' };
  if (text.trim() === '') return { ok: true, body: {} };
  const { value, error, duplicateKeys } = readJsonText(text);
  if (error || duplicateKeys.length > 0) return { ok: false, code: 'invalid_request' };
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? { ok: true, body: value as Obj } : { ok: false, code: 'invalid_request' };
}
