// Request-target normalisation: the one place where a raw URL becomes the path that is both
// authorised and forwarded. Normalising once, and forwarding exactly what was authorised, is what
// closes path-confusion gaps between iamgate and the service behind it.

/** Why a request target was refused (each answered 400). */
export type PathRejection =
  | 'not_origin_form'
  | 'too_long'
  | 'invalid_percent_encoding'
  | 'encoded_separator'
  | 'backslash'
  | 'nul'
  | 'control_character'
  | 'invalid_utf8'
  | 'fragment'
  | 'escapes_root'
  | 'semicolon'
  | 'trailing_dot'
  | 'double_encoding'
  | 'nfkc_separator'
  | 'nfkc_changed'
  | 'method_override';

/** The rejections that are Unicode look-alikes: answered with their own code (`unicode_lookalike`), not `bad_path`. */
export const LOOKALIKE_REJECTIONS: ReadonlySet<PathRejection> = new Set<PathRejection>(['nfkc_separator', 'nfkc_changed']);

export interface PathRules {
  /** Longest accepted request target (path and query), in characters. */
  readonly maxLength: number;
  /** Accept `;` in path segments (matrix parameters). Off by default: some servers strip `;...` from segments. */
  readonly allowSemicolon: boolean;
  /** Accept segments ending in `.` (`/admin.`). Off by default: some servers drop trailing dots. */
  readonly allowTrailingDot: boolean;
  /** Accept `%25` followed by two hex digits (`%252e`). Off by default: a server that decodes twice would see `%2e`, then `.`. */
  readonly allowDoubleEncoding: boolean;
  /**
   * Refuse a path whose NFKC form differs from it at all (`/ｆile`, `/ﬁle`). Off by default: a path
   * whose NFKC form adds a separator or dot (`/．．/admin`) is refused whatever this says.
   */
  readonly refuseNonNfkc: boolean;
}

export const DEFAULT_PATH_RULES: PathRules = { maxLength: 8192, allowSemicolon: false, allowTrailingDot: false, allowDoubleEncoding: false, refuseNonNfkc: false };

/** A request target after normalisation: the path to authorise and forward, and the untouched query. */
export interface NormalizedTarget {
  /** Canonical path: starts with `/`, no dot segments, no empty segments except a trailing `/`. */
  readonly path: string;
  /** Path segments of `path` (a trailing `/` gives a last empty segment); `/` gives `[]`. */
  readonly segments: readonly string[];
  /** The query without `?`, or `undefined` when the target had none. */
  readonly query: string | undefined;
}

export type NormalizeResult =
  | { readonly ok: true; readonly target: NormalizedTarget }
  | { readonly ok: false; readonly reason: PathRejection };

const HEX = '0123456789ABCDEF';

/** Characters kept literal when they appear unencoded (RFC 3986 pchar without `%`, plus `/`). */
const RAW_ALLOWED = new Uint8Array(128);
/** Unreserved characters: decoded when percent-encoded (`%41` is `A`). */
const UNRESERVED = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~') {
  UNRESERVED[ch.charCodeAt(0)] = 1;
  RAW_ALLOWED[ch.charCodeAt(0)] = 1;
}
for (const ch of "!$&'()*+,;=:@/") RAW_ALLOWED[ch.charCodeAt(0)] = 1;

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 65 && code <= 70) return code - 55;
  if (code >= 97 && code <= 102) return code - 87;
  return -1;
}

function encodeByte(b: number): string {
  return '%' + HEX[b >> 4]! + HEX[b & 15]!;
}

/** Number of continuation bytes after a UTF-8 lead byte, and the allowed range of the first one; undefined for an invalid lead. */
function utf8Lead(b: number): { readonly count: number; readonly lo: number; readonly hi: number } | undefined {
  if (b >= 0xc2 && b <= 0xdf) return { count: 1, lo: 0x80, hi: 0xbf };
  if (b === 0xe0) return { count: 2, lo: 0xa0, hi: 0xbf }; // excludes overlong 3-byte forms
  if ((b >= 0xe1 && b <= 0xec) || b === 0xee || b === 0xef) return { count: 2, lo: 0x80, hi: 0xbf };
  if (b === 0xed) return { count: 2, lo: 0x80, hi: 0x9f }; // excludes UTF-16 surrogates
  if (b === 0xf0) return { count: 3, lo: 0x90, hi: 0xbf }; // excludes overlong 4-byte forms
  if (b >= 0xf1 && b <= 0xf3) return { count: 3, lo: 0x80, hi: 0xbf };
  if (b === 0xf4) return { count: 3, lo: 0x80, hi: 0x8f }; // caps at U+10FFFF
  return undefined; // 0x80..0xc1 (continuation or overlong 2-byte lead) and 0xf5..0xff
}

/**
 * Reads the byte at `i` of a raw path: a percent-encoded byte or a raw character (Node hands
 * non-ASCII request bytes over as latin1 characters). Returns the byte, whether it was encoded,
 * and the index after it; a negative byte means invalid percent-encoding.
 */
function readByte(raw: string, i: number): { readonly byte: number; readonly encoded: boolean; readonly next: number } {
  const code = raw.charCodeAt(i);
  if (code !== 37) return { byte: code, encoded: false, next: i + 1 };
  // charCodeAt past the end gives NaN, which hexValue maps to -1.
  const hi = hexValue(raw.charCodeAt(i + 1));
  const lo = hexValue(raw.charCodeAt(i + 2));
  if (hi < 0 || lo < 0) return { byte: -1, encoded: true, next: i + 3 };
  return { byte: (hi << 4) | lo, encoded: true, next: i + 3 };
}

/** Decodes the path part into canonical form (unreserved decoded, everything else encoded in upper-case hex), or a rejection. */
/** Whether the two bytes from `i` (each raw or itself percent-encoded, as in `%25%41a`) are hex digits: `%25` then makes a double encoding. */
function followedByHexPair(raw: string, i: number): boolean {
  const first = readByte(raw, i);
  if (first.byte < 0 || hexValue(first.byte) < 0) return false;
  const second = readByte(raw, first.next);
  return second.byte >= 0 && hexValue(second.byte) >= 0;
}

type Step<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: PathRejection };

function fail<T>(reason: PathRejection): Step<T> {
  return { ok: false, reason };
}

/** A canonical path, and whether it holds any non-ASCII byte (only then can its NFKC form differ). */
interface Canonical {
  readonly text: string;
  readonly nonAscii: boolean;
}

/**
 * Whether E2 80 A8 or E2 80 A9 ends here: U+2028 and U+2029, the Unicode line and paragraph
 * separators, which log readers (Python's splitlines, JavaScript's line terminators) take for a
 * line break, as they take NEL: a route parameter holding one would split the audit record it is
 * written in, or the upstream's log line.
 */
const isLineSeparator = (lead: number, first: number, last: number): boolean => lead === 0xe2 && first === 0x80 && (last === 0xa8 || last === 0xa9);

function canonicalPath(raw: string, rules: PathRules): Step<Canonical> {
  let out = '';
  let nonAscii = false;
  let i = 0;
  while (i < raw.length) {
    const { byte, encoded, next } = readByte(raw, i);
    i = next;
    if (byte < 0 || byte > 0xff) return fail(byte < 0 ? 'invalid_percent_encoding' : 'invalid_utf8');
    if (byte === 0) return fail('nul');
    if (byte === 0x2f) {
      if (encoded) return fail('encoded_separator');
      out += '/';
      continue;
    }
    if (byte === 0x5c) return fail(encoded ? 'encoded_separator' : 'backslash');
    if (byte < 0x20 || byte === 0x7f) return fail('control_character');
    if (byte === 0x23 && !encoded) return fail('fragment');
    // Encoded too: a proxy between iamgate and the service that decodes the path (nginx's proxy_pass
    // with a URI) hands the service a raw `;`, which it may strip with what follows.
    if (byte === 0x3b && !rules.allowSemicolon) return fail('semicolon');
    if (byte === 0x25 && encoded && !rules.allowDoubleEncoding && followedByHexPair(raw, i)) return fail('double_encoding');
    if (byte < 0x80) {
      if (UNRESERVED[byte] === 1 || (!encoded && RAW_ALLOWED[byte] === 1)) out += String.fromCharCode(byte);
      else out += encodeByte(byte);
      continue;
    }
    const lead = utf8Lead(byte);
    if (lead === undefined) return fail('invalid_utf8');
    nonAscii = true;
    out += encodeByte(byte);
    let first = 0;
    for (let k = 0; k < lead.count; k++) {
      if (i >= raw.length) return fail('invalid_utf8');
      const cont = readByte(raw, i);
      i = cont.next;
      if (cont.byte < 0) return fail('invalid_percent_encoding');
      const lo = k === 0 ? lead.lo : 0x80;
      const hi = k === 0 ? lead.hi : 0xbf;
      if (cont.byte < lo || cont.byte > hi) return fail('invalid_utf8');
      if (k === 0) first = cont.byte;
      else if (isLineSeparator(byte, first, cont.byte)) return fail('control_character');
      out += encodeByte(cont.byte);
    }
    // C1 controls, U+0080 to U+009F (NEL among them): C2 80 to C2 9F.
    if (byte === 0xc2 && first <= 0x9f) return fail('control_character');
  }
  return { ok: true, value: { text: out, nonAscii } };
}

/**
 * Characters that change what a path names when an upstream folds Unicode look-alikes into them
 * (NFKC, as many frameworks and filesystems do): separators, the dot of dot segments and trailing
 * dots, `%` (a new escape), and `?`, `#`, `;`, which end a path or a segment for servers that parse
 * it again. `．．` is `..` to such an upstream, `／` is `/`.
 */
export const NFKC_SENSITIVE = './\\%?#;';
const SENSITIVE = new Uint8Array(128);
for (const ch of NFKC_SENSITIVE) SENSITIVE[ch.charCodeAt(0)] = 1;

/** How many times each sensitive ASCII character occurs in `text`, indexed by character code. */
function sensitiveCounts(text: string): Uint32Array {
  const counts = new Uint32Array(128);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 128 && SENSITIVE[code] === 1) counts[code]!++;
  }
  return counts;
}

/**
 * The look-alike rule, run only on paths holding non-ASCII bytes: a path whose NFKC form holds
 * more of a sensitive character than the path itself is refused (`nfkc_separator`); with
 * `refuseNonNfkc`, so is a path whose NFKC form differs at all (`nfkc_changed`). Counting is sound
 * because NFKC never composes an ASCII character of that set away: it can only add them.
 */
function checkNfkc(canonical: string, rules: PathRules): PathRejection | undefined {
  const text = decodeURIComponent(canonical);
  const folded = text.normalize('NFKC');
  if (folded === text) return undefined;
  const before = sensitiveCounts(text);
  const after = sensitiveCounts(folded);
  for (let code = 0; code < 128; code++) if (after[code]! > before[code]!) return 'nfkc_separator';
  return rules.refuseNonNfkc ? 'nfkc_changed' : undefined;
}

const METHOD_PARAM = '_method';

/** Characters PHP writes as `_` in a parameter name (`.method`, `+method` after a leading `+`, `[method`). */
const isUnderscoreInPhp = (code: number): boolean => code === 0x5f || code === 0x20 || code === 0x2e || code === 0x5b;

/**
 * Whether the parameter name starting at `start` of the query is read as `_method` by a framework:
 * Express (method-override), Laravel, Symfony and Rails may take the request's method from it, so a
 * request decided as POST would be acted on as DELETE. The name is read as PHP reads it (Laravel and
 * Symfony): percent escapes and `+` decoded, leading spaces dropped, then ` `, `.` and `[` read as
 * `_`, the name cut at a NUL; letters in any case.
 */
function isMethodParam(query: string, start: number): boolean {
  let i = start;
  let k = 0;
  while (k < METHOD_PARAM.length) {
    let code = query.charCodeAt(i);
    if (code === 37) {
      code = hexValue(query.charCodeAt(i + 1)) * 16 + hexValue(query.charCodeAt(i + 2));
      i += 3;
    } else i += 1;
    if (code === 0x2b) code = 0x20;
    if (k === 0 && code === 0x20) continue;
    const expected = METHOD_PARAM.charCodeAt(k);
    if (k === 0 ? !isUnderscoreInPhp(code) : (code | 0x20) !== expected) return false;
    k++;
  }
  return endsName(query, i);
}

/**
 * Whether a parameter name ends at `i` of the query: at the query's end, `=`, `&` or `;` (Rack and
 * older parsers also split on `;`), or an escaped NUL, where PHP cuts a name (`_method%00x=DELETE`
 * is its `_method`).
 */
function endsName(query: string, i: number): boolean {
  if (i >= query.length) return true;
  const code = query.charCodeAt(i);
  return code === 0x3d || code === 0x26 || code === 0x3b || query.startsWith('%00', i);
}

/** Characters a parameter name that reads as `_method` can start with. */
const mayStartMethodParam = (code: number): boolean => isUnderscoreInPhp(code) || code === 37 || code === 0x2b;

/**
 * Checks that a query string is well-formed (valid percent-encoding, no control characters) and
 * names no `_method` parameter; it is forwarded unchanged.
 */
function checkQuery(query: string): PathRejection | undefined {
  for (let i = 0; i < query.length; i++) {
    const code = query.charCodeAt(i);
    if ((i === 0 || query.charCodeAt(i - 1) === 0x26 || query.charCodeAt(i - 1) === 0x3b) && mayStartMethodParam(code) && isMethodParam(query, i)) return 'method_override';
    if (code === 37) {
      if (hexValue(query.charCodeAt(i + 1)) < 0 || hexValue(query.charCodeAt(i + 2)) < 0) return 'invalid_percent_encoding';
      i += 2;
    } else if (code === 0) return 'nul';
    else if (code < 0x20 || code === 0x7f) return 'control_character';
    else if (code === 0x23) return 'fragment';
  }
  return undefined;
}

/** Resolves `.`, `..` and repeated slashes over canonical segments (RFC 3986 §5.2.4), refusing to climb above the root. */
function resolveSegments(canonical: string, rules: PathRules): Step<readonly string[]> {
  const parts = canonical.split('/');
  const stack: string[] = [];
  let trailing = false;
  // parts[0] is the empty string before the leading '/'.
  for (let k = 1; k < parts.length; k++) {
    const seg = parts[k]!;
    const last = k === parts.length - 1;
    if (seg === '' || seg === '.') {
      if (last) trailing = true;
      continue;
    }
    if (seg === '..') {
      if (stack.length === 0) return fail('escapes_root');
      stack.pop();
      if (last) trailing = true;
      continue;
    }
    if (!rules.allowTrailingDot && seg.endsWith('.')) return fail('trailing_dot');
    stack.push(seg);
    trailing = false;
  }
  if (trailing && stack.length > 0) stack.push('');
  return { ok: true, value: stack };
}

/**
 * Normalises a raw request target (`incoming.url`) once: percent-decodes unreserved characters,
 * removes dot segments and repeated slashes, and refuses what cannot be normalised safely
 * (encoded `/` or `\`, NUL, invalid percent-encoding, overlong or invalid UTF-8, `..` above the root,
 * Unicode look-alikes of separators and dots). The look-alike rule sees every segment, dot segments
 * included, before they are resolved; a pure-ASCII path skips it.
 */
export function normalizeTarget(raw: string, rules: PathRules = DEFAULT_PATH_RULES): NormalizeResult {
  if (raw.length > rules.maxLength) return { ok: false, reason: 'too_long' };
  if (raw.charCodeAt(0) !== 47) return { ok: false, reason: 'not_origin_form' };
  const q = raw.indexOf('?');
  const rawPath = q < 0 ? raw : raw.slice(0, q);
  const query = q < 0 ? undefined : raw.slice(q + 1);
  if (query !== undefined) {
    const bad = checkQuery(query);
    if (bad) return { ok: false, reason: bad };
  }
  const canonical = canonicalPath(rawPath, rules);
  if (!canonical.ok) return canonical;
  if (canonical.value.nonAscii) {
    const lookalike = checkNfkc(canonical.value.text, rules);
    if (lookalike) return { ok: false, reason: lookalike };
  }
  const segments = resolveSegments(canonical.value.text, rules);
  if (!segments.ok) return segments;
  return { ok: true, target: { path: '/' + segments.value.join('/'), segments: segments.value, query } };
}

/** Decodes one canonical segment (or joined segments) to text; canonical segments always decode. */
export function decodeSegment(segment: string): string {
  return segment.includes('%') ? decodeURIComponent(segment) : segment;
}

/**
 * Whether a raw request target's path is already its normalised path, percent-escapes compared
 * case-insensitively and the query left out. Proxies in front of forward-auth and ext_authz forward
 * the raw path, not iamgate's, so in those modes a target that normalisation would change is
 * refused rather than decided on a path the upstream never sees.
 */
export function isCanonicalTarget(raw: string, target: NormalizedTarget): boolean {
  const q = raw.indexOf('?');
  const end = q < 0 ? raw.length : q;
  const path = target.path;
  if (end !== path.length) return false;
  for (let i = 0; i < end; i++) {
    const a = raw.charCodeAt(i);
    const b = path.charCodeAt(i);
    if (a === b) continue;
    // Only the hex digits of an escape may differ, and only in case.
    const inEscape = (i >= 1 && raw.charCodeAt(i - 1) === 37) || (i >= 2 && raw.charCodeAt(i - 2) === 37);
    if (!inEscape || (a | 0x20) !== (b | 0x20) || (a | 0x20) < 97 || (a | 0x20) > 102) return false;
  }
  return true;
}
