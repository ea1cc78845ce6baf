// The one spelling of a compact JWS: three base64url segments in canonical form (no bits set in a
// last character beyond the data, so a signature cannot be spelt sixteen ways) whose header and
// payload name no member twice (JSON.parse keeps the last; RFC 7515 §4 lets a reader keep either,
// so a repeated `alg`, `kid` or `sub` is a question two readers answer differently).

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** Whether a base64url segment (of alphabet characters only) is the one encoding of its bytes. */
function isCanonical(segment: string): boolean {
  switch (segment.length % 4) {
    case 0:
      return true;
    case 1:
      return false; // six bits cannot end a byte
    case 2:
      return (ALPHABET.indexOf(segment[segment.length - 1]!) & 0b1111) === 0;
    default:
      return (ALPHABET.indexOf(segment[segment.length - 1]!) & 0b11) === 0;
  }
}

/**
 * Whether JSON text names a member twice in one object, keys compared as decoded (`"alg"` and
 * `"al\\u0067"` are one name). A scan, not a parse: the caller parses the text anyway, and text
 * that is not JSON is left to it.
 */
function repeatsMember(text: string): boolean {
  // One entry per open container: the names an object has given so far, undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  let atKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (end < text.length && text.charCodeAt(end) !== QUOTE) {
        if (text.charCodeAt(end) === BACKSLASH) {
          escaped = true;
          end++;
        }
        end++;
      }
      const names = open[open.length - 1];
      if (atKey && names !== undefined) {
        const name = escaped ? decodedString(text.slice(i, end + 1)) : text.slice(i + 1, end);
        if (name === undefined) return false;
        if (names.has(name)) return true;
        names.add(name);
        atKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      atKey = true;
    } else if (c === OPEN_ARRAY) open.push(undefined);
    else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) open.pop();
    else if (c === COMMA) atKey = open[open.length - 1] !== undefined;
  }
  return false;
}

/** A JSON string literal's value, or undefined when it is not one (the text is then not JSON, which the verifier refuses). */
function decodedString(literal: string): string | undefined {
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** A segment's bytes as text, read as jose reads them (UTF-8, a leading byte order mark dropped). */
function segmentText(segment: string): string {
  const text = Buffer.from(segment, 'base64url').toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** A compact JWS's header and payload as text, read once, or what keeps it from its one spelling. */
export type CompactJws = { readonly ok: true; readonly header: string; readonly payload: string } | { readonly ok: false; readonly problem: string };

/** Reads `token` as a compact JWS in its one spelling: its header and payload texts, for the caller to parse without decoding them again. */
export function readCompactJws(token: string): CompactJws {
  if (!COMPACT_JWS.test(token)) return { ok: false, problem: 'not a compact JWS' };
  const [headerSegment, payloadSegment, signature] = token.split('.') as [string, string, string];
  if (!isCanonical(headerSegment) || !isCanonical(payloadSegment) || !isCanonical(signature)) return { ok: false, problem: 'a segment is not canonical base64url' };
  const header = segmentText(headerSegment);
  const payload = segmentText(payloadSegment);
  if (repeatsMember(header) || repeatsMember(payload)) return { ok: false, problem: 'the header or payload names a member twice' };
  return { ok: true, header, payload };
}

/** What makes `token` other than a compact JWS in its one spelling, or undefined when nothing does. */
export function compactJwsProblem(token: string): string | undefined {
  const read = readCompactJws(token);
  return read.ok ? undefined : read.problem;
}
