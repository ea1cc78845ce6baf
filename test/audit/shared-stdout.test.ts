// Several processes on one standard output (serve --workers, a wrapper script): each process's
// logger and audit trail write there at once, and the reader may fall behind so that the pipe fills
// and writes meet EAGAIN. Every line that comes out must still be one writer's whole line.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { splitTrailText, verifyTrail } from '../../src/audit/index.js';

const WRITER = fileURLToPath(new URL('./fixtures/shared-stdout-writer.ts', import.meta.url));
const WRITERS = ['gw-a', 'gw-b', 'gw-c'];
const COUNT = 500;

/** Runs the writers on one pipe whose reader takes one chunk at a time, a turn of the event loop apart; resolves to all it read. */
function runOnOneSlowPipe(): Promise<{ code: number | null; out: string; err: string }> {
  // The writers share a FIFO (as under a container runtime), which `cat` copies to our slow reader.
  const command = `{ ${WRITERS.map((id) => `"${process.execPath}" --import tsx "${WRITER}" ${id} ${COUNT} &`).join(' ')} wait; } | cat`;
  const child = spawn('sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  // A slow reader: one chunk at a time, a moment apart, so the pipe stays nearly full and the writers' writes keep meeting a full pipe.
  child.stdout.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), 1);
  });
  const ended = new Promise((resolve) => child.stdout.once('end', resolve));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return Promise.all([exited, ended]).then(([code]) => ({ code, out: Buffer.concat(chunks).toString('utf8'), err }));
}

describe('a standard output shared by several processes', () => {
  it('carries only whole lines of log and audit trail, however slowly it is read', async () => {
    const { code, out, err } = await runOnOneSlowPipe();
    expect(code).toBe(0);
    expect(err.match(/^done$/gm)).toHaveLength(WRITERS.length);
    const lines = out.split('\n');
    expect(lines.pop()).toBe('');
    const unreadable = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    expect(unreadable.map((line) => line.slice(0, 120))).toEqual([]);
    const logLines = lines.filter((line) => line.includes('"handling request"'));
    expect(logLines).toHaveLength(WRITERS.length * COUNT);
    // A log line longer than one atomic pipe write comes out shortened, never split.
    expect(lines.filter((line) => Buffer.byteLength(line) >= 4096)).toEqual([]);
    expect(logLines.filter((line) => line.includes('"truncated"')).length).toBeGreaterThan(0);
    const report = await verifyTrail(splitTrailText(out));
    expect(report.findings).toEqual([]);
    expect(report.chains).toHaveLength(WRITERS.length);
  }, 120_000);
});
