// Bounds a log line to one atomic pipe write. Standard output is often a pipe that other writers
// share (the workers of `serve --workers`, the audit trail, a wrapper's own output): a write of at
// most PIPE_BUF bytes lands whole, a longer one can be split by a full pipe and another writer's
// line land inside it. So no log line is longer than PIPE_BUF: a longer one is shortened.
import { PIPE_BUF } from '../audit/index.js';
import { unicodeEscape } from '../config/index.js';

/** Strings kept longer than this in a shortened line are cut; halved until the line fits. */
const FIRST_STRING_LIMIT = 1024;
const LAST_STRING_LIMIT = 16;
/** At most 3 UTF-8 bytes per UTF-16 unit: a line of at most this many units fits without counting its bytes. */
const SURELY_FITS = Math.floor(PIPE_BUF / 3);
/** Array items kept in a shortened line. */
const ARRAY_LIMIT = 16;

/** The value with every string cut to `limit` characters and every array to ARRAY_LIMIT items. */
function cut(value: unknown, limit: number): unknown {
  if (typeof value === 'string') return value.length > limit ? `${value.slice(0, limit)}…` : value;
  if (Array.isArray(value)) return value.slice(0, ARRAY_LIMIT).map((item) => cut(item, limit));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key] = cut(item, limit);
  return out;
}

function fits(line: string): boolean {
  return Buffer.byteLength(line) <= PIPE_BUF;
}

/**
 * Characters JSON leaves raw in a string that some log readers break a line on: NEL, and the Unicode
 * line and paragraph separators (Python's str.splitlines, JavaScript's line terminators). A value
 * holding one (an unverified token's issuer, say) would otherwise end a line for such a reader, and
 * what follows it would read as a line of its own.
 */
const LINE_BREAKING = /[\u0085\u2028\u2029]/;
const EVERY_LINE_BREAKING = new RegExp(LINE_BREAKING.source, 'g');

/** The same JSON line with those characters as escapes: in JSON they can only stand inside a string, where `\u2028` reads back as the same value. */
function escapeLineBreaking(line: string): string {
  return LINE_BREAKING.test(line) ? line.replace(EVERY_LINE_BREAKING, unicodeEscape) : line;
}

/** A JSON log line longer than PIPE_BUF, shortened: its strings and arrays cut, and `truncated` set to its length. */
function shorten(line: string): string {
  const truncated = Buffer.byteLength(line);
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch {
    parsed = { msg: line };
  }
  const fields = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { msg: parsed };
  for (let limit = FIRST_STRING_LIMIT; limit >= LAST_STRING_LIMIT; limit >>= 1) {
    const text = escapeLineBreaking(`${JSON.stringify({ ...(cut(fields, limit) as Record<string, unknown>), truncated })}\n`);
    if (fits(text)) return text;
  }
  // Too many fields for any cut: what says when, how bad and what happened.
  const { level, time, msg } = fields;
  return escapeLineBreaking(`${JSON.stringify({ level, time, msg: cut(msg, LAST_STRING_LIMIT * 16), truncated })}\n`);
}

/** The line as written: one line for every reader, and within one atomic pipe write (shortened to fit when longer, rarely). */
export function fitLine(line: string): string {
  const safe = escapeLineBreaking(line);
  return safe.length <= SURELY_FITS || fits(safe) ? safe : shorten(safe);
}
