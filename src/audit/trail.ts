// Reading a trail back: the lines of a file, or the entries of a Redis Stream, each with a
// reference (`line 12`, `entry 1700000000000-0`) that verification and reports point at.
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
}

/**
 * The longest line kept whole, in characters. A record is a few hundred bytes; a longer line is not
 * one, and keeping all of it (a hostile file of one endless line) would cost memory, and time to
 * search it again for a newline with every chunk. Its first MAX_LINE characters stand for it.
 */
export const MAX_LINE = 1024 * 1024;

/**
 * Reads a trail file line by line, streaming (the file may be large). `label` prefixes each
 * reference (`audit.jsonl.000002 line 12`) when the trail spans several files. Each chunk is
 * searched for newlines once; a line's pieces are joined only when it ends, at most MAX_LINE.
 */
export async function* readTrailFile(path: string, label?: string): AsyncGenerator<TrailEntry> {
  const at = label === undefined ? 'line ' : `${label} line `;
  let pieces: string[] = [];
  let kept = 0;
  const keep = (piece: string): void => {
    if (kept >= MAX_LINE || piece.length === 0) return;
    const part = piece.length > MAX_LINE - kept ? piece.slice(0, MAX_LINE - kept) : piece;
    pieces.push(part);
    kept += part.length;
  };
  const take = (): string => {
    const text = pieces.length === 1 ? (pieces[0] as string) : pieces.join('');
    pieces = [];
    kept = 0;
    return text;
  };
  let line = 0;
  for await (const chunk of (await openRegularFile(path)).createReadStream({ encoding: 'utf8' })) {
    const text = chunk as string;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      line++;
      keep(text.slice(start, nl));
      yield { ref: `${at}${line}`, text: take(), complete: true };
      start = nl + 1;
    }
    keep(text.slice(start));
  }
  if (kept > 0) yield { ref: `${at}${line + 1}`, text: take(), complete: false };
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

/** Reads every entry of a Redis Stream, oldest first, in pages. */
export async function* readTrailStream(redis: Redis, stream: string, pageSize = 1000): AsyncGenerator<TrailEntry> {
  let from = '-';
  for (;;) {
    const page = await redis.xrange(stream, from, '+', 'COUNT', pageSize);
    for (const [id, fields] of page) {
      const at = fields.indexOf(STREAM_FIELD);
      const text = at !== -1 && at % 2 === 0 ? (fields[at + 1] ?? '') : '';
      yield { ref: `entry ${id}`, text, complete: true };
      from = `(${id}`;
    }
    if (page.length < pageSize) return;
  }
}
