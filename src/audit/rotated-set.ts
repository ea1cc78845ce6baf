// The files of a rotated trail: `<path>.000001`, `<path>.000002`, ... (renamed by the file sink's
// rotation, never renamed again) and `<path>` itself, the one being written. Read oldest first they
// are one trail; a number missing from the sequence is a file removed from it.
import { existsSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TrailEntry } from './trail.js';
import type { VerifyReport } from './verify.js';

/** Digits of a rotated file's number (more are used past 999,999; `rotatedFiles` sorts numerically). */
const NUMBER_WIDTH = 6;
const DIGITS = /^\d+$/;

/** The name the file at `path` gets when rotated as number `n`. */
export function rotatedName(path: string, n: number): string {
  return `${path}.${String(n).padStart(NUMBER_WIDTH, '0')}`;
}

/** The rotated files of `path`, oldest first, with their numbers. */
export function rotatedFiles(path: string): { file: string; number: number }[] {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const found: { file: string; number: number }[] = [];
  for (const name of names) {
    const digits = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (digits.length >= NUMBER_WIDTH && DIGITS.test(digits)) found.push({ file: join(dirname(path), name), number: Number(digits) });
  }
  return found.sort((a, b) => a.number - b.number);
}

export interface TrailSet {
  /** Every file of the trail, oldest first (the current file last, when it exists). */
  readonly files: readonly string[];
  /** Rotated files whose number is missing between the first and the last one found. */
  readonly missing: readonly string[];
}

/** The rotated set of `path`: its rotated files in order, then `path` itself. */
export function trailSet(path: string): TrailSet {
  const rotated = rotatedFiles(path);
  const missing: string[] = [];
  for (let i = 1; i < rotated.length; i++) {
    for (let n = (rotated[i - 1] as { number: number }).number + 1; n < (rotated[i] as { number: number }).number; n++) missing.push(rotatedName(path, n));
  }
  const files = rotated.map((r) => r.file);
  if (existsSync(path)) files.push(path);
  return { files, missing };
}

/** Adds to a verification report the files missing from a rotated set (tampering: part of the trail was removed). */
export function withMissingFiles(report: VerifyReport, missing: readonly string[]): VerifyReport {
  if (missing.length === 0) return report;
  const findings = missing.map((file) => ({
    severity: 'tampered' as const,
    code: 'missing' as const,
    message: `${basename(file)} is missing from the rotated set: the files before and after it are there`,
    ref: basename(file),
  }));
  return { ...report, status: 'tampered', findings: [...findings, ...report.findings] };
}

interface FileSpan {
  readonly file: string;
  first?: { readonly instanceId: string; readonly seq: number };
  last?: { readonly instanceId: string; readonly seq: number };
}

/** Where each file's records begin and end, noted while the trail is read, to check the files' order. */
export interface FileOrder {
  /** Passes the entries through, noting the first and last record of each file. */
  observe(file: string, entries: AsyncIterable<TrailEntry>): AsyncGenerator<TrailEntry>;
  /** Adds a `reordered` finding for each file whose records come before those of the file named ahead of it. */
  check(report: VerifyReport): VerifyReport;
}

/** Notes the span of audit records in each file of a set. */
export function fileOrder(): FileOrder {
  const spans: FileSpan[] = [];
  return {
    async *observe(file, entries) {
      const span: FileSpan = { file };
      spans.push(span);
      for await (const entry of entries) {
        yield entry;
        let parsed: unknown;
        try {
          parsed = JSON.parse(entry.text);
        } catch {
          continue;
        }
        const { instanceId, seq } = (parsed ?? {}) as { instanceId?: unknown; seq?: unknown };
        if (typeof instanceId !== 'string' || typeof seq !== 'number') continue;
        span.first ??= { instanceId, seq };
        span.last = { instanceId, seq };
      }
    },
    check(report) {
      const findings: VerifyReport['findings'][number][] = [];
      for (let i = 1; i < spans.length; i++) {
        const a = spans[i - 1] as FileSpan;
        const b = spans[i] as FileSpan;
        if (!a.last || !b.first || a.last.instanceId !== b.first.instanceId || b.first.seq > a.last.seq) continue;
        findings.push({
          severity: 'tampered',
          code: 'reordered',
          message: `${basename(b.file)} (from seq ${b.first.seq} of chain ${b.first.instanceId}) is named after ${basename(a.file)}, which reaches seq ${a.last.seq}: the files are out of order`,
          ref: basename(b.file),
          instanceId: b.first.instanceId,
          seq: b.first.seq,
        });
      }
      return findings.length === 0 ? report : { ...report, status: 'tampered', findings: [...findings, ...report.findings] };
    },
  };
}
