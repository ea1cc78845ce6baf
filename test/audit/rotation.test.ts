// The file sink's rotation: by size, by age and on request, and the rotated files read oldest
// first as one trail that `iamgate audit verify` checks as a whole.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditConfig } from '../../src/audit/config.js';
import { createAuditLog } from '../../src/audit/log.js';
import { trailSet } from '../../src/audit/rotated-set.js';
import { createRotatingFileSink, type RotatingFileSink } from '../../src/audit/sinks/rotation.js';
import type { VerifyReport } from '../../src/audit/verify.js';
import { EXIT_INCOMPLETE, runAudit } from '../../src/cli/audit.js';
import { EXIT } from '../../src/cli/exit.js';
import { decisionEvent, ed25519, lines, steppingClock, tempDir, type TempDir } from './support.js';

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

/** Runs `iamgate audit verify ARGS --json`: the exit code and the report. */
async function verify(...args: string[]): Promise<{ code: number; report: VerifyReport }> {
  const out: string[] = [];
  const code = await runAudit(['verify', ...args, '--json'], { stdout: (l) => out.push(l), stderr: () => undefined });
  return { code, report: JSON.parse(out.join('')) as VerifyReport };
}

/** A signed audit log writing through `sink`; records events `from`..`to`. */
function logOn(sink: RotatingFileSink, instanceId: string) {
  const key = ed25519();
  const log = createAuditLog({ instanceId, sinks: [sink], signer: key.signer, now: steppingClock(), digestEvery: { records: 7, ms: 0 } });
  const write = async (from: number, to: number): Promise<void> => {
    for (let i = from; i <= to; i++) await log.record(decisionEvent(i));
  };
  return { log, write, publicPem: key.publicPem };
}

/** Request ids of every decision record in the files, in order. */
async function requestIds(files: readonly string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const file of files) for (const line of await lines(file)) {
    const id = (JSON.parse(line) as { requestId?: string }).requestId;
    if (id !== undefined) ids.push(id);
  }
  return ids;
}

const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `req-${from + i}`);

describe('a trail rotated into three files', () => {
  let path: string;
  let files: readonly string[];
  beforeAll(async () => {
    path = dir.file('three/audit.jsonl');
    const sink = createRotatingFileSink(path);
    const { log, write } = logOn(sink, 'gw-rot-3');
    await write(1, 20);
    await sink.rotate();
    await write(21, 40);
    await sink.rotate();
    await write(41, 60);
    await log.close();
    files = trailSet(path).files;
  });

  it('is the two rotated files, oldest first, then the current one, holding every record once, in order', async () => {
    expect(files.map((f) => basename(f))).toEqual(['audit.jsonl.000001', 'audit.jsonl.000002', 'audit.jsonl']);
    expect(await requestIds(files)).toEqual(range(1, 60));
  });

  it('verifies as one closed chain with --rotated, and when the files are named oldest first', async () => {
    const rotated = await verify(path, '--rotated');
    expect(rotated.code).toBe(EXIT.ok);
    expect(rotated.report).toMatchObject({ status: 'ok', findings: [] });
    expect(rotated.report.chains).toEqual([expect.objectContaining({ instanceId: 'gw-rot-3', firstSeq: 1, closed: true })]);
    const named = await verify(...files);
    expect(named.code).toBe(EXIT.ok);
    expect(named.report.records).toBe(rotated.report.records);
  });

  it('reports the files as reordered when they are named out of order', async () => {
    const { code, report } = await verify(files[1] as string, files[0] as string, files[2] as string);
    expect(code).toBe(EXIT.failed);
    expect(report.status).toBe('tampered');
    expect(report.findings[0]).toMatchObject({ code: 'reordered', ref: 'audit.jsonl.000001', seq: 1 });
  });

  it('reports the records of a file left out as missing', async () => {
    const { code, report } = await verify(files[0] as string, files[2] as string);
    expect(code).toBe(EXIT.failed);
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'missing', ref: 'audit.jsonl line 1' }));
  });

  it('reports a rotated file removed from the folder as missing, by name', async () => {
    const copy = dir.file('three-removed/audit.jsonl');
    const sink = createRotatingFileSink(copy);
    const { log, write } = logOn(sink, 'gw-rot-removed');
    for (const [from, to] of [[1, 5], [6, 10], [11, 15]] as const) {
      await write(from, to);
      await sink.rotate();
    }
    await log.close();
    await rm(`${copy}.000002`);
    const { code, report } = await verify(copy, '--rotated');
    expect(code).toBe(EXIT.failed);
    expect(report.findings).toContainEqual(expect.objectContaining({ code: 'missing', ref: 'audit.jsonl.000002' }));
  });
});

describe('rotation by size', () => {
  it('starts a new file once one reaches maxBytes, keeping each record whole and in order, even with many in flight', async () => {
    const path = dir.file('size/audit.jsonl');
    const sink = createRotatingFileSink(path, { maxBytes: 4096 });
    const { log } = logOn(sink, 'gw-rot-size');
    // All in flight at once: records that arrive while a file is being switched wait for the next.
    await Promise.all(Array.from({ length: 120 }, (_, i) => log.record(decisionEvent(i + 1))));
    await log.close();
    const { files, missing } = trailSet(path);
    expect(missing).toEqual([]);
    expect(files.length).toBeGreaterThanOrEqual(4);
    expect(sink.rotations).toBe(files.length - 1);
    for (const file of files.slice(0, -1)) expect((await stat(file)).size).toBeGreaterThanOrEqual(4096);
    expect(await requestIds(files)).toEqual(range(1, 120));
    const { code, report } = await verify(path, '--rotated');
    expect(report.findings).toEqual([]);
    expect(code).toBe(EXIT.ok);
  });

  it('takes the records a request waits on by callback, those that arrive while a file is switched included, each told once it is written, in order', async () => {
    const path = dir.file('size-then/audit.jsonl');
    const sink = createRotatingFileSink(path, { maxBytes: 4096 });
    const { log } = logOn(sink, 'gw-rot-then');
    const told: { i: number; err: unknown }[] = [];
    const waits: boolean[] = [];
    const written = new Promise<void>((resolve) => {
      for (let i = 1; i <= 60; i++) {
        waits.push(log.recordThen(decisionEvent(i), (err) => {
          told.push({ i, err });
          if (told.length === 60) resolve();
        }));
      }
    });
    expect(waits.every((w) => w)).toBe(true);
    await written;
    expect(told).toEqual(range(1, 60).map((_, i) => ({ i: i + 1, err: undefined })));
    await log.close();
    const { files } = trailSet(path);
    expect(sink.rotations).toBeGreaterThanOrEqual(1);
    expect(await requestIds(files)).toEqual(range(1, 60));
    expect((await verify(path, '--rotated')).code).toBe(EXIT.ok);
  });
});

describe('rotation by age', () => {
  it('rotates a file that has been open intervalMs and holds records, and says where it went', async () => {
    const path = dir.file('age/audit.jsonl');
    let rotated: (file: string) => void = () => undefined;
    const rotatedTo = new Promise<string>((resolve) => (rotated = resolve));
    const sink = createRotatingFileSink(path, { intervalMs: 20, onRotate: (file) => rotated(file) });
    const { log, write } = logOn(sink, 'gw-rot-age');
    await write(1, 3);
    expect(await rotatedTo).toBe(`${path}.000001`);
    await write(4, 6);
    await log.close();
    expect(await requestIds(trailSet(path).files)).toEqual(range(1, 6));
    expect((await verify(path, '--rotated')).code).toBe(EXIT.ok);
  });
});

describe('reopening (logrotate, create style)', () => {
  it('after the file was renamed, writes on in a new file at the path, and the two verify as one trail', async () => {
    const path = dir.file('reopen/audit.jsonl');
    const sink = createRotatingFileSink(path);
    const { log, write } = logOn(sink, 'gw-reopen');
    await write(1, 10);
    await rename(path, `${path}.1`);
    // Written after the rename and before the reopen: still into the renamed file.
    await write(11, 12);
    await sink.reopen();
    await write(13, 20);
    await log.close();
    expect(await requestIds([`${path}.1`])).toEqual(range(1, 12));
    expect(await requestIds([path])).toEqual(range(13, 20));
    const { code, report } = await verify(`${path}.1`, path);
    expect(report.findings).toEqual([]);
    expect(code).toBe(EXIT.ok);
  });

  it('a trail still being written verifies as incomplete, not tampered', async () => {
    const path = dir.file('open/audit.jsonl');
    const sink = createRotatingFileSink(path);
    const { log, write } = logOn(sink, 'gw-open');
    await write(1, 10);
    await sink.rotate();
    await write(11, 12);
    await log.flush();
    const { code, report } = await verify(path, '--rotated');
    expect(code).toBe(EXIT_INCOMPLETE);
    expect(report.findings.map((f) => f.code)).toEqual(['unclosed']);
    await log.close();
  });
});

describe('a trail file tampered with while it is written', () => {
  it('opens a new file at the path by itself when the open file is deleted, so later records are not lost with it', async () => {
    const path = dir.file('deleted/audit.jsonl');
    const sink = createRotatingFileSink(path, { watchMs: 20 });
    const { log, write } = logOn(sink, 'gw-deleted');
    await write(1, 5);
    await rm(path);
    await expect.poll(() => existsSync(path), { timeout: 10_000 }).toBe(true);
    await write(6, 10);
    await log.close();
    expect(await requestIds([path])).toEqual(range(6, 10));
  });

  it('refuses to start on a symbolic link at the path, never writing through it', async () => {
    const path = dir.file('link-start/audit.jsonl');
    const target = dir.file('link-start/elsewhere.txt');
    await mkdir(dirname(path), { recursive: true });
    await symlink(target, path);
    expect(() => createRotatingFileSink(path)).toThrow(/ELOOP/);
    expect(existsSync(target)).toBe(false);
  });

  it('refuses records while a symbolic link stands at the path it reopens, never writing through it, and writes again once a file of its own can be opened there', async () => {
    const path = dir.file('link-reopen/audit.jsonl');
    const target = dir.file('link-reopen/elsewhere.txt');
    const sink = createRotatingFileSink(path, { watchMs: 20 });
    const { log, write } = logOn(sink, 'gw-link');
    await write(1, 5);
    await rename(path, `${path}.1`);
    await symlink(target, path);
    await expect(sink.reopen()).rejects.toThrow(/ELOOP/);
    expect(sink.accepting()).toBe(false);
    await expect(write(6, 6)).rejects.toThrow();
    expect(existsSync(target)).toBe(false);
    await rm(path);
    await expect.poll(() => sink.accepting(), { timeout: 10_000 }).toBe(true);
    await write(7, 10);
    await log.close();
    expect(existsSync(target)).toBe(false);
    expect(await requestIds([path])).toEqual(range(7, 10));
  });
});

describe('the audit.file.rotate keys', () => {
  const read = (rotate: unknown) => readAuditConfig({ sink: 'file', file: { path: 'a.jsonl', rotate } }, { development: true, file: 'iamgate.yaml' });

  it('are read into the configuration', () => {
    expect(read({ maxBytes: 104857600, intervalMs: 86_400_000 }).config?.fileRotate).toEqual({ maxBytes: 104857600, intervalMs: 86_400_000 });
    expect(readAuditConfig({ sink: 'file', file: { path: 'a.jsonl' } }, { development: true }).config?.fileRotate).toBeUndefined();
  });

  it('refuse an empty rotate section, a size below 4 KiB and an unknown key, each with its path', () => {
    const paths = (rotate: unknown) => read(rotate).findings.map((f) => f.path);
    expect(paths({})).toEqual(['audit.file.rotate']);
    expect(paths({ maxBytes: 100 })).toEqual(['audit.file.rotate.maxBytes']);
    expect(paths({ maxBytes: 8192, every: 5 })).toEqual(['audit.file.rotate.every']);
  });
});
