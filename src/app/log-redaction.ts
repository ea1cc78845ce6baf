// Credentials never reach the operational log, whatever line they would have been written in. Many
// log calls can quote input: a refusal's detail, an error's message and stack (jose, ioredis,
// undici, JSON.parse quoting a body), the problems of a policy file. Redacting at each call site
// leaves the next call site open, so the line is redacted once, as pino writes it: every line, at
// every level, from every child logger. It runs off the request path of an allowed request (no line
// is written for one at the default level) and costs about a microsecond a line (docs/security.md).
import { REDACTED, withBearerTokensRedacted } from '../audit/index.js';

/** Secrets shorter than this are not searched for: they would match ordinary words and numbers. */
export const SHORTEST_REDACTED_SECRET = 6;

/** Six digits in a row: where a run of digits starts (or its seventh digit, for a longer run). */
const SIX_DIGITS = /[0-9]{6}/g;

const isDigit = (code: number): boolean => code >= 0x30 && code <= 0x39;
const isAlphanumeric = (code: number): boolean => isDigit(code) || (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);

/**
 * Whether the character before `at` ends a word: not a letter or digit, or the letter of a JSON
 * escape (`\n`, `\t`, ...), which stands for a control character in the value.
 */
function boundaryBefore(line: string, at: number): boolean {
  return at === 0 || !isAlphanumeric(line.charCodeAt(at - 1)) || line.charCodeAt(at - 2) === 0x5c;
}

/** Whether `at` lies inside a JSON string of the line. */
function insideString(line: string, at: number): boolean {
  let inString = false;
  for (let i = 0; i < at; i++) {
    const code = line.charCodeAt(i);
    if (code === 0x5c) i++; // an escape: the next character is part of it, never a quote
    else if (code === 0x22) inString = !inString;
  }
  return inString;
}

/**
 * The JSON line with every run of exactly six digits that stands alone inside a string written as
 * REDACTED: a TOTP code wherever a caller's input put it (a body quoted by a parse error, a field
 * echoed in a message). Numbers outside strings (times, counts, durations) are values iamgate
 * wrote, and are kept. A native search finds runs of six digits or more (a line's time has
 * thirteen); the line is read character by character only for a run of exactly six, which a line
 * rarely holds. (A pattern with look-behind to the same effect cost ten times as much a line.)
 */
function withCodesRedacted(line: string): string {
  let out = '';
  let kept = 0;
  SIX_DIGITS.lastIndex = 0;
  for (let found = SIX_DIGITS.exec(line); found !== null; found = SIX_DIGITS.exec(line)) {
    const at = found.index;
    let end = at + 6;
    while (isDigit(line.charCodeAt(end))) end++;
    SIX_DIGITS.lastIndex = end;
    if (end - at === 6 && !isDigit(line.charCodeAt(at - 1)) && boundaryBefore(line, at) && !isAlphanumeric(line.charCodeAt(end)) && insideString(line, at)) {
      out += line.slice(kept, at) + REDACTED;
      kept = end;
    }
  }
  return kept === 0 ? line : out + line.slice(kept);
}

/** How a secret can appear in a JSON line: as written, and escaped as a JSON string holds it. */
function spellings(secret: string): string[] {
  const escaped = JSON.stringify(secret).slice(1, -1);
  return escaped === secret ? [secret] : [secret, escaped];
}

/**
 * Makes the redactor every log line passes through: configured secrets (`secrets`, each at least
 * SHORTEST_REDACTED_SECRET characters), bearer tokens (any JWT, iamgate's own session tokens
 * among them) and TOTP codes are replaced by REDACTED, the rest of the line kept as written.
 */
export function createLineRedactor(secrets: readonly string[]): (line: string) => string {
  const searched = [...new Set(secrets.filter((s) => s.length >= SHORTEST_REDACTED_SECRET).flatMap(spellings))].sort((a, b) => b.length - a.length);
  return (line) => {
    let safe = line;
    for (const secret of searched) if (safe.includes(secret)) safe = safe.split(secret).join(REDACTED);
    return withCodesRedacted(withBearerTokensRedacted(safe));
  };
}
