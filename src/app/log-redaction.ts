// Credentials never reach the operational log, whatever line they would have been written in. Many
// log calls can quote input: a refusal's detail, an error's message and stack (jose, ioredis,
// undici, JSON.parse quoting a body), the problems of a policy file. Redacting at each call site
// leaves the next call site open, so the line is redacted once, as pino writes it: every line, at
// every level, from every child logger. It runs off the request path of an allowed request (no line
// is written for one at the default level) and costs about a microsecond of CPU a line
// (docs/benchmarks.md, "Log lines").
import { REDACTED, withBearerTokensRedacted } from '../audit/index.js';

/** Secrets shorter than this are not searched for: they would match ordinary words and numbers. */
export const SHORTEST_REDACTED_SECRET = 6;

/** Six digits in a row: where a run of digits starts (or its seventh digit, for a longer run). */
const SIX_DIGITS = /[0-9]{6}/g;

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
/**
 * A character of an identifier: a letter, a digit, `-` or `_`. Six digits joined to others by `-`
 * or `_` are part of an identifier iamgate wrote (an audit chain's id ends in six hex digits, all of
 * them digits one time in seventeen; a key id is base64url), never a code standing alone.
 */
const isWordCharacter = (code: number): boolean => isDigit(code) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a) || code === 0x2d || code === 0x5f;

/**
 * Whether the character before `at` ends a word: no character of an identifier, or the letter of a
 * JSON escape (`\n`, `\t`, ...), which stands for a control character in the value.
 */
function boundaryBefore(line: string, at: number): boolean {
  return at === 0 || !isWordCharacter(line.charCodeAt(at - 1)) || line.charCodeAt(at - 2) === 0x5c;
}

const isHexDigit = (code: number): boolean => isDigit(code) || (code >= 0x41 && code <= 0x46) || (code >= 0x61 && code <= 0x66);

/**
 * Where a `\uXXXX` escape that ends at or after `at` ends, or -1: JSON writes a control character
 * or a lone surrogate as one, so the hex digits of `\u0001123456` run into the code after it, and
 * the `f` of `\u001f123456` touches it; neither character is part of an identifier.
 */
function unicodeEscapeEnd(text: string, at: number): number {
  for (let slash = at - 2; slash >= at - 6 && slash >= 0; slash--) {
    if (text.charCodeAt(slash) !== 0x5c || text.charCodeAt(slash + 1) !== 0x75) continue;
    for (let h = slash + 2; h < slash + 6; h++) if (!isHexDigit(text.charCodeAt(h))) return -1;
    return slash + 6;
  }
  return -1;
}

/**
 * Asks whether `at` lies inside a JSON string of the line: in a log line only digits inside a string
 * can be a caller's; numbers outside strings (times, counts, durations) are values iamgate wrote, and
 * are kept. One asker serves one line, asked at rising positions, and reads each character once: a
 * line with many runs of digits costs one pass, not one pass a run.
 */
function insideStringOf(): (line: string, at: number) => boolean {
  let scanned = 0;
  let inString = false;
  return (line, at) => {
    for (; scanned < at; scanned++) {
      const code = line.charCodeAt(scanned);
      if (code === 0x5c) scanned++; // an escape: the next character is part of it, never a quote
      else if (code === 0x22) inString = !inString;
    }
    return inString;
  };
}

/**
 * `text` with every run of exactly six digits that stands alone, where `counts(text, at)` says it
 * may be a caller's, written as REDACTED: a TOTP code wherever a caller's input put it (a body
 * quoted by a parse error, a field echoed in a message). A native search finds runs of six digits
 * or more (a log line's time has thirteen); `counts` is asked only for a run of exactly six, which
 * a line rarely holds. (A pattern with look-behind to the same effect cost ten times as much a line.)
 */
function withCodesRedacted(text: string, counts: (text: string, at: number) => boolean): string {
  let out = '';
  let kept = 0;
  SIX_DIGITS.lastIndex = 0;
  // test, not exec: no match array made; a match is six characters long, so it began six before lastIndex.
  while (SIX_DIGITS.test(text)) {
    let at = SIX_DIGITS.lastIndex - 6;
    let end = at + 6;
    while (isDigit(text.charCodeAt(end))) end++;
    SIX_DIGITS.lastIndex = end;
    // A run that begins in or right after a \u escape begins, as a value's text, after the escape.
    const escapeEnd = unicodeEscapeEnd(text, at);
    if (escapeEnd > at) at = escapeEnd;
    if (end - at === 6 && (escapeEnd === at || boundaryBefore(text, at)) && !isWordCharacter(text.charCodeAt(end)) && counts(text, at)) {
      out += text.slice(kept, at) + REDACTED;
      kept = end;
    }
  }
  return kept === 0 ? text : out + text.slice(kept);
}

/** In plain text any lone run of six digits can be a caller's. */
const everywhere = (): boolean => true;

/** How a secret can appear in a JSON line: as written, and escaped as a JSON string holds it. */
function spellings(secret: string): string[] {
  const escaped = JSON.stringify(secret).slice(1, -1);
  return escaped === secret ? [secret] : [secret, escaped];
}

/** Secrets to search for, longest first (so none is left half-replaced by a shorter one it holds), with their JSON spellings. */
function searchedSecrets(secrets: readonly string[]): string[] {
  return [...new Set(secrets.filter((s) => s.length >= SHORTEST_REDACTED_SECRET).flatMap(spellings))].sort((a, b) => b.length - a.length);
}

function withSecretsRedacted(text: string, searched: readonly string[]): string {
  let safe = text;
  for (const secret of searched) if (safe.includes(secret)) safe = safe.split(secret).join(REDACTED);
  return safe;
}

/**
 * Makes the redactor every log line passes through: configured secrets (`secrets`, each at least
 * SHORTEST_REDACTED_SECRET characters), bearer tokens (any JWT, iamgate's own session tokens
 * among them) and TOTP codes inside JSON strings are replaced by REDACTED, the rest of the line
 * kept as written.
 */
export function createLineRedactor(secrets: readonly string[]): (line: string) => string {
  const searched = searchedSecrets(secrets);
  return (line) => withCodesRedacted(withBearerTokensRedacted(withSecretsRedacted(line, searched)), insideStringOf());
}

/**
 * The same for plain text that is no JSON line (what `iamgate serve` prints on standard error: the
 * problems of a configuration or of the policies it could not start with), where a lone run of six
 * digits anywhere is taken for a TOTP code.
 */
export function createTextRedactor(secrets: readonly string[]): (text: string) => string {
  const searched = searchedSecrets(secrets);
  return (text) => withCodesRedacted(withBearerTokensRedacted(withSecretsRedacted(text, searched)), everywhere);
}
