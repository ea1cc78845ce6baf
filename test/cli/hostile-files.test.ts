// Every iamgate command that reads a file, given a path that is not an ordinary file: a FIFO no one
// writes to, /dev/zero, a file far larger than any policy set, a symbolic link loop, YAML nested
// beyond any real document or built to expand (aliases of aliases). Each answers with the file and
// the reason, an exit code and no stack trace, in bounded time and memory: a FIFO is never waited
// on, a device never read.
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_LINE, readTrailFile } from '../../src/audit/trail.js';
import { runCli } from '../../src/cli/cli.js';
import type { CliIo } from '../../src/cli/io.js';
import '../../src/cli/audit.js';
import '../../src/cli/serve.js';
import '../../src/cli/simulate.js';
import '../../src/cli/test.js';
import '../../src/cli/validate.js';

let dir = '';
let fifo = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-hostile-'));
  fifo = join(dir, 'policy.yaml');
  execFileSync('mkfifo', [fifo]);
});
afterAll(async () => {
  // Should a command still wait on the FIFO, a writer opening and closing it ends that wait.
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // No reader waits (ENXIO): nothing to release.
  }
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const io: CliIo = { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) };
  const code = await runCli(argv, io);
  return { code, text: lines.join('\n') };
}

/** No answer shows a stack trace or a raw system error code. */
function expectPlain(text: string): void {
  expect(text).not.toMatch(/\n\s+at |ENOTREGULAR|EFBIG|Invalid string length/);
}

describe('commands given a path that is not an ordinary file', () => {
  it.each([
    ['validate', () => ['validate', fifo]],
    ['serve --config', () => ['serve', '--config', fifo]],
    ['simulate --cases', () => ['simulate', '--cases', fifo]],
    ['test', () => ['test', fifo]],
    ['audit verify', () => ['audit', 'verify', fifo]],
    ['audit verify --public-key', () => ['audit', 'verify', '--public-key', fifo, join(dir, 'none.jsonl')]],
  ])('%s refuses a FIFO at once as not a regular file, without waiting for a writer', async (_name, argv) => {
    const { code, text } = await cli(...argv());
    expect(code).not.toBe(0);
    expect(text).toContain(fifo);
    expect(text).toContain('a FIFO, not a regular file');
    expectPlain(text);
  });

  it('serve refuses a route map that is a FIFO, naming the file and the reason, without waiting for a writer', async () => {
    const folder = await mkdtemp(join(dir, 'fifo-routes-'));
    const config = join(folder, 'iamgate.yaml');
    // The generated keys go beside the policy folder, never inside it.
    await writeFile(config, `version: 1\nmode: development\nlisten: { port: 0 }\noperations: { port: 0 }\nauth: { stateDir: ${folder}-state }\n`);
    await writeFile(join(folder, 'directory.yaml'), 'version: 1\naccount: "111122223333"\n');
    execFileSync('mkfifo', [join(folder, 'routes.yaml')]);
    const { code, text } = await cli('serve', '--config', config);
    expect(code).toBe(1);
    expect(text).toContain(`${join(folder, 'routes.yaml')}: cannot read route map: a FIFO, not a regular file`);
    expectPlain(text);
  });

  it('validate refuses a directory whose policy file is a FIFO, naming the policy', async () => {
    const directory = join(dir, 'directory.yaml');
    await writeFile(directory, `version: 1\naccount: "111122223333"\npolicies:\n  P: { file: ${fifo} }\nusers:\n  alice: { policies: [P] }\n`);
    const { code, text } = await cli('validate', directory);
    expect(code).toBe(1);
    expect(text).toMatch(/policies\.P\.file: cannot read .*policy\.yaml: a FIFO, not a regular file/);
  });

  it.each([
    ['validate', ['validate', '/dev/zero']],
    ['audit verify', ['audit', 'verify', '/dev/zero']],
    ['simulate --cases', ['simulate', '--cases', '/dev/zero']],
  ])('%s refuses /dev/zero as a character device instead of reading it until memory runs out', async (_name, argv) => {
    const before = process.memoryUsage().rss;
    const { code, text } = await cli(...argv);
    expect(code).not.toBe(0);
    expect(text).toContain('/dev/zero');
    expect(text).toContain('a character device, not a regular file');
    expectPlain(text);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('validate refuses a file larger than 16 MiB before reading it', async () => {
    const huge = join(dir, 'huge.json');
    await writeFile(huge, '');
    await truncate(huge, 16 * 1024 * 1024 + 1);
    const { code, text } = await cli('validate', huge);
    expect(code).toBe(1);
    expect(text).toContain(`${huge}: error FILE_UNREADABLE: larger than 16777216 bytes`);
  });

  it('validate names a symbolic link loop as such', async () => {
    const a = join(dir, 'a.yaml');
    const b = join(dir, 'b.yaml');
    await symlink(b, a);
    await symlink(a, b);
    const { code, text } = await cli('validate', a);
    expect(code).toBe(1);
    expect(text).toMatch(/FILE_UNREADABLE: .*too many symbolic links/);
  });

  it('validate refuses YAML aliases that expand a thousandfold, and YAML nested 100000 deep, each as a syntax error', async () => {
    const bomb = join(dir, 'bomb.yaml');
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g', 'h'].entries()) levels.push(`${name}: &${name} [${Array(10).fill(`*${levels[i]?.[0]}`).join(', ')}]`);
    await writeFile(bomb, `${levels.join('\n')}\n`);
    const deep = join(dir, 'deep.yaml');
    await writeFile(deep, `a: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    for (const file of [bomb, deep]) {
      const { code, text } = await cli('validate', file);
      expect([file, code]).toEqual([file, 1]);
      expect(text).toContain(`${file}: error YAML_SYNTAX_ERROR`);
      expectPlain(text);
    }
  });
});

describe('audit verify given a trail of endless lines', () => {
  it('keeps at most the first MAX_LINE bytes of a line, so a line of 3 MiB costs no more than one of 1 MiB, and reads the lines after it whole', async () => {
    const trail = join(dir, 'long-lines.jsonl');
    await writeFile(trail, `${'a'.repeat(3 * 1024 * 1024)}\n{"short":1}\n\n${'b'.repeat(MAX_LINE + 5)}`);
    const entries: { ref: string; length: number; complete: boolean }[] = [];
    for await (const e of readTrailFile(trail)) entries.push({ ref: e.ref, length: e.text.length, complete: e.complete });
    expect(entries).toEqual([
      { ref: 'line 1', length: MAX_LINE, complete: true },
      { ref: 'line 2', length: '{"short":1}'.length, complete: true },
      { ref: 'line 3', length: 0, complete: true },
      { ref: 'line 4', length: MAX_LINE, complete: false },
    ]);
    const { code, text } = await cli('audit', 'verify', trail);
    expect(code).not.toBe(0);
    expectPlain(text);
  });
});
