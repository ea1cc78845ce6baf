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
 * Reads a trail file line by line, streaming (the file may be large). `label` prefixes each
 * reference (`audit.jsonl.000002 line 12`) when the trail spans several files.
 */
export async function* readTrailFile(path: string, label?: string): AsyncGenerator<TrailEntry> {
  const at = label === undefined ? 'line ' : `${label} line `;
  let rest = '';
  let line = 0;
  for await (const chunk of (await openRegularFile(path)).createReadStream({ encoding: 'utf8' })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      line++;
      yield { ref: `${at}${line}`, text: text.slice(start, nl), complete: true };
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  if (rest.length > 0) yield { ref: `${at}${line + 1}`, text: rest, complete: false };
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
