// The real executable writing into a pipe whose reader has gone (`iamgate ... | head`): the output
// is dropped and the command ends with its own exit code, without an EPIPE stack trace.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHILD_PROCESS_TEST_MS } from '../support/timeouts.js';

const MAIN = join(import.meta.dirname, '../../src/cli/main.ts');

/**
 * Runs the CLI with the reader of one of its outputs closed before the CLI writes a byte; resolves
 * with its exit code and what it wrote to the other.
 */
function runIntoClosedPipe(args: readonly string[], closed: 'stdout' | 'stderr' = 'stdout'): Promise<{ code: number | null; other: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // Our end of the pipe closes now, while the child is still starting: every write it makes meets no reader.
    child[closed].destroy();
    let other = '';
    child[closed === 'stdout' ? 'stderr' : 'stdout'].setEncoding('utf8').on('data', (chunk: string) => (other += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, other }));
  });
}

describe('the CLI writing to a pipe nobody reads', { timeout: CHILD_PROCESS_TEST_MS }, () => {
  it('ends with its own exit code and no EPIPE stack trace when the reader has gone', async () => {
    const { code, other } = await runIntoClosedPipe(['--help']);
    expect(other).not.toMatch(/EPIPE|Error|at /);
    expect(code).toBe(0);
  });

  it('ends with its own exit code when the reader of its errors has gone too, as in `iamgate ... 2>&1 | head`', async () => {
    const { code, other } = await runIntoClosedPipe(['vaildate'], 'stderr');
    expect(other).toBe('');
    expect(code).toBe(2);
  });
});
