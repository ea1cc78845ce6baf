// A caller waiting on its record with a callback whose callback throws (a bug in that caller) does
// not take the others of its group-commit write with it: each other waiter is still told its
// record is written, the writer goes on to the next write, the trail stays whole, and the throw
// surfaces on its own afterwards, as an uncaught exception. Run in a real process of its own, so
// that the uncaught exception is the process's and the test can see when it came.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, verifyFile, type TempDir } from './support.js';
import { CHILD_PROCESS_MS, CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const fixture = fileURLToPath(new URL('./fixtures/throwing-waiter.ts', import.meta.url));

let dir: TempDir;
beforeAll(async () => {
  dir = await tempDir();
});
afterAll(() => dir.remove());

/** What the fixture process saw happen, in order. */
async function run(mode: 'writer' | 'log', path: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', fixture, mode, path], { timeout: CHILD_PROCESS_MS });
  return JSON.parse(stdout) as string[];
}

describe('a callback waiter that throws', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  it('leaves the other waiters of its write told, in order, and the writer writing; the throw surfaces after them', async () => {
    const path = dir.file('writer.txt');
    const happened = await run('writer', path);
    expect(happened).toEqual(['called:1:written', 'called:2:written', 'called:3:written', 'uncaught:waiter 1 is broken', 'called:4:written']);
    expect(await readFile(path, 'utf8')).toBe('line 1\nline 2\nline 3\nline 4\n');
  });

  it('leaves the audit log’s other recordThen callers told and its chain whole: the next record is kept and the trail verifies', async () => {
    const path = dir.file('log.jsonl');
    const happened = await run('log', path);
    expect(happened.filter((h) => h.startsWith('called:'))).toEqual(['called:1:written', 'called:2:written', 'called:3:written']);
    expect(happened.indexOf('uncaught:waiter 1 is broken')).toBeGreaterThan(happened.indexOf('called:3:written'));
    expect(happened).toContain('recorded:4');
    expect(await verifyFile(path)).toMatchObject({ status: 'ok', findings: [] });
    const requestIds = (await readFile(path, 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { requestId?: string }).requestId).filter(Boolean);
    expect(requestIds).toEqual(['req-1', 'req-2', 'req-3', 'req-4']);
  });
});
