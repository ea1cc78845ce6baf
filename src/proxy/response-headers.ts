// The upstream's response headers as the caller gets them: undici's raw list (Buffers) turned into
// the flat string list Node's `writeHead` takes, in one pass, with each name converted once and its
// class remembered; hop-by-hop headers and every `x-iamgate-*` header of the upstream's removed
// (the caller hears iamgate's headers from iamgate alone: an upstream echoing the identity headers
// it received, or writing one of its own, never speaks in iamgate's name), iamgate's own request id added.
import { IDENTITY_HEADER_PREFIX } from './header-classes.js';
import { addConnectionListed, dropListed, HOP_BY_HOP, IDENTITY_HEADERS } from './headers.js';
import { NameMemo } from './name-memo.js';

/** What becomes of one of the upstream's headers, by name (`length`: kept, and its value noted). */
const ACTION = { keep: 0, drop: 1, connection: 2, length: 3 } as const;
type Action = (typeof ACTION)[keyof typeof ACTION];

function actionFor(lower: string): Action {
  if (lower === 'connection') return ACTION.connection;
  if (lower === 'content-length') return ACTION.length;
  return droppedFromAnswers(lower) ? ACTION.drop : ACTION.keep;
}

/** Whether an upstream's response header never reaches the caller: hop-by-hop, or one of iamgate's own. */
const droppedFromAnswers = (lower: string): boolean => HOP_BY_HOP.has(lower) || lower.startsWith(IDENTITY_HEADER_PREFIX);

/** Where `responseHeaderList` notes the body length the caller is told. */
export interface DeclaredLength {
  /** The Content-Length passed on to the caller, in bytes; -1 when there is none or it is not one plain number. */
  declaredLength: number;
}

const DIGITS = /^\d{1,15}$/;

/** Remembered classes of the upstream's header names; one per upstream. */
export type ResponseHeaderNames = NameMemo<Action>;

export function createResponseHeaderNames(): ResponseHeaderNames {
  return new NameMemo(actionFor);
}

const latin1 = (b: Buffer | string): string => (typeof b === 'string' ? b : b.toString('latin1'));

/**
 * Whether an answer of `status` may name no body length at all: RFC 9110 §8.6 forbids Content-Length
 * in a 1xx or 204 (Transfer-Encoding, hop-by-hop, is dropped from every answer anyway). A 304 keeps
 * its Content-Length: there it is the length of the representation it stands for.
 */
export const namesNoLength = (status: number): boolean => status < 200 || status === 204;

/**
 * The caller's response headers from the upstream's raw ones (flat `[name, value, ...]`, Buffers or
 * strings). With `length`, notes there the Content-Length the caller gets (one plain number, not
 * removed as hop-by-hop), so the forwarder knows which body chunk is the last. With `noLength` (a
 * 1xx or 204, see `namesNoLength`), the upstream's Content-Length is dropped, and none is noted.
 */
export function responseHeaderList(raw: readonly (Buffer | string)[], requestId: string, names: ResponseHeaderNames, length?: DeclaredLength, noLength = false): string[] {
  const out: string[] = [];
  let listed: Set<string> | undefined;
  let declared = -1;
  let lengths = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    switch (names.of(name)) {
      case ACTION.keep:
        out.push(name, latin1(raw[i + 1]!));
        break;
      case ACTION.drop:
        break;
      case ACTION.connection:
        listed = addConnectionListed(latin1(raw[i + 1]!), listed);
        break;
      case ACTION.length: {
        if (noLength) break;
        const value = latin1(raw[i + 1]!);
        out.push(name, value);
        lengths++;
        declared = DIGITS.test(value) ? Number(value) : -1;
        break;
      }
    }
  }
  if (listed !== undefined) dropListed(out, listed);
  if (length !== undefined) length.declaredLength = lengths === 1 && listed?.has('content-length') !== true ? declared : -1;
  out.push(IDENTITY_HEADERS.requestId, requestId);
  return out;
}

/**
 * Filters the upstream's raw response headers for the caller (see `responseHeaderList`). With
 * `keepUpgrade` (a 101 answer), Upgrade and Connection are kept, nothing else the Connection header
 * lists is removed, and Content-Length is dropped. `noLength` as for `responseHeaderList`.
 */
export function clientResponseHeaders(raw: readonly (Buffer | string)[], requestId: string, keepUpgrade = false, noLength = false): string[] {
  if (!keepUpgrade) return responseHeaderList(raw, requestId, createResponseHeaderNames(), undefined, noLength);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = latin1(raw[i]!);
    const lower = name.toLowerCase();
    // A 101 names no body length (RFC 9110 §8.6): what follows it is the upgraded protocol's.
    if (lower === 'content-length') continue;
    if (lower === 'upgrade' || lower === 'connection' || !droppedFromAnswers(lower)) out.push(name, latin1(raw[i + 1]!));
  }
  out.push(IDENTITY_HEADERS.requestId, requestId);
  return out;
}
