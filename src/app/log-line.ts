// Bounds a log line to one atomic pipe write. Standard output is often a pipe that other writers
// share (the workers of `serve --workers`, the audit trail, a wrapper's own output): a write of at
// most PIPE_BUF bytes lands whole, a longer one can be split by a full pipe and another writer's
// line land inside it. So no log line is longer than PIPE_BUF: a longer one is shortened.
import { PIPE_BUF } from '../audit/index.js';

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
    const text = `${JSON.stringify({ ...(cut(fields, limit) as Record<string, unknown>), truncated })}\n`;
    if (fits(text)) return text;
  }
  // Too many fields for any cut: what says when, how bad and what happened.
  const { level, time, msg } = fields;
  return `${JSON.stringify({ level, time, msg: cut(msg, LAST_STRING_LIMIT * 16), truncated })}\n`;
}

/** The line as written: itself when it fits one atomic pipe write (nearly always), else shortened to fit. */
export function fitLine(line: string): string {
  return line.length <= SURELY_FITS || fits(line) ? line : shorten(line);
}
