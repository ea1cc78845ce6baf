// Reading a trail back: the lines of a file, or the entries of a Redis Stream, each with a
// reference (`line 12`, `entry 1700000000000-0`) that verification and reports point at.
import { isUtf8 } from 'node:buffer';
import { basename } from 'node:path';
import type { Redis } from 'ioredis';
import { openRegularFile } from '../config/index.js';
import { STREAM_FIELD } from './sinks/redis.js';

export interface TrailEntry {
  /** Where the entry is, for messages: `line 12` or `entry 1712345678901-0`. */
  readonly ref: string;
  readonly text: string;
  /** False for a file's last line when the file does not end with a newline (a torn write). */
  readonly complete: boolean;
  /** True when the line's bytes are not UTF-8 (`text` is then what a lossy decoder made of them). */
  readonly notUtf8?: boolean;
}

/**
 * The longest line kept whole, in bytes. A record is a few hundred bytes; a longer line is not one,
 * and keeping all of it (a hostile file of one endless line) would cost memory, and time to search
 * it again for a newline with every chunk. Its first MAX_LINE bytes stand for it.
 */
export const MAX_LINE = 1024 * 1024;

/**
 * Reads a trail file line by line, streaming (the file may be large). `label` prefixes each
 * reference (`audit.jsonl.000002 line 12`) when the trail spans several files. Lines are split on
 * the bytes (a newline byte is never part of another character in UTF-8), each chunk searched once;
 * a line's pieces are joined only when it ends, at most MAX_LINE, and decoded then, so a line that
 * is not UTF-8 is known as such rather than read as the text a lossy decoder makes of it.
 */
export async function* readTrailFile(path: string, label?: string): AsyncGenerator<TrailEntry> {
  const at = label === undefined ? 'line ' : `${label} line `;
  let pieces: Buffer[] = [];
  let kept = 0;
  const keep = (chunk: Buffer, from: number, to: number): void => {
    if (kept >= MAX_LINE || to <= from) return;
    const end = Math.min(to, from + MAX_LINE - kept);
    pieces.push(chunk.subarray(from, end));
    kept += end - from;
  };
  const take = (ref: string, complete: boolean): TrailEntry => {
    const bytes = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    pieces = [];
    kept = 0;
    return decodeEntry(ref, bytes, complete);
  };
  let line = 0;
  for await (const chunk of (await openRegularFile(path)).createReadStream()) {
    const bytes = chunk as Buffer;
    let start = 0;
    for (let nl = bytes.indexOf(NEWLINE); nl !== -1; nl = bytes.indexOf(NEWLINE, start)) {
      line++;
      keep(bytes, start, nl);
      yield take(`${at}${line}`, true);
      start = nl + 1;
    }
    keep(bytes, start, bytes.length);
  }
  if (kept > 0) yield take(`${at}${line + 1}`, false);
}

const NEWLINE = 0x0a;

/** An entry from its bytes, marked when they are not UTF-8 (its text is then a lossy decoder's reading). */
function decodeEntry(ref: string, bytes: Buffer, complete: boolean): TrailEntry {
  const text = bytes.toString('utf8');
  // Only a line the decoder had to mend can be other than UTF-8: the check runs on those alone.
  return text.includes('\uFFFD') && !isUtf8(bytes) ? { ref, text, complete, notUtf8: true } : { ref, text, complete };
}

/**
 * Reads files that together hold one trail (a file and its rotated predecessors), oldest first, as
 * one sequence of entries: a chain carries on from one file into the next.
 */
export async function* readTrailFiles(
  paths: readonly string[],
  observe: (path: string, entries: AsyncGenerator<TrailEntry>) => AsyncGenerator<TrailEntry> = (_, entries) => entries,
): AsyncGenerator<TrailEntry> {
  if (paths.length === 1) {
    yield* readTrailFile(paths[0] as string);
    return;
  }
  for (const path of paths) yield* observe(path, readTrailFile(path, basename(path)));
}

/** Splits a trail held in memory (captured standard output, say) into entries. */
export function splitTrailText(text: string): TrailEntry[] {
  const parts = text.split('\n');
  const last = parts.pop() ?? '';
  const entries = parts.map((line, i) => ({ ref: `line ${i + 1}`, text: line, complete: true }));
  if (last !== '') entries.push({ ref: `line ${parts.length + 1}`, text: last, complete: false });
  return entries;
}

/** Reads every entry of a Redis Stream, oldest first, in pages, as bytes (decoded as a file's lines are). */
export async function* readTrailStream(redis: Redis, stream: string, pageSize = 1000): AsyncGenerator<TrailEntry> {
  let from = '-';
  for (;;) {
    const page = await redis.xrangeBuffer(stream, from, '+', 'COUNT', pageSize);
    for (const [idBytes, fields] of page) {
      const id = idBytes.toString();
      const at = fields.findIndex((f, i) => i % 2 === 0 && f.equals(FIELD_BYTES));
      yield decodeEntry(`entry ${id}`, at === -1 ? EMPTY : (fields[at + 1] ?? EMPTY), true);
      from = `(${id}`;
    }
    if (page.length < pageSize) return;
  }
}

const FIELD_BYTES = Buffer.from(STREAM_FIELD);
const EMPTY = Buffer.alloc(0);
