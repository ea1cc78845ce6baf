// Files read as text: bytes that are not UTF-8 are refused with the line and column an editor
// shows for them (after a byte-order mark, CRLF line ends, and characters outside the BMP).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTextFile, readTextFileSync } from '../../src/config/index.js';

describe('reading a file as text', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-text-file-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const refusal = async (name: string, bytes: Buffer): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    const asynchronous = await readTextFile(path).then(
      () => 'read',
      (err: Error) => err.message,
    );
    let synchronous = 'read';
    try {
      readTextFileSync(path);
    } catch (err) {
      synchronous = (err as Error).message;
    }
    expect(synchronous).toBe(asynchronous);
    return asynchronous;
  };
  const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');
  const raw = (...bytes: number[]): Buffer => Buffer.from(bytes);

  it('reads a file that begins with a byte-order mark without it', async () => {
    const path = join(dir, 'bom.yaml');
    await writeFile(path, Buffer.concat([raw(0xef, 0xbb, 0xbf), utf8('a: 1\r\n')]));
    expect(await readTextFile(path)).toBe('a: 1\r\n');
  });

  it('names the column of a bad byte after a byte-order mark as an editor counts it, not counting the mark', async () => {
    expect(await refusal('bom-bad.yaml', Buffer.concat([raw(0xef, 0xbb, 0xbf), utf8('ab'), raw(0xff)]))).toContain('byte 0xff at line 1, column 3');
  });

  it('counts lines ended by CRLF once each', async () => {
    expect(await refusal('crlf.yaml', Buffer.concat([utf8('a: 1\r\nb: 2\r\nc: '), raw(0xc0, 0x80)]))).toContain('byte 0xc0 at line 3, column 4');
  });

  it('counts a character outside the Basic Multilingual Plane as one column', async () => {
    expect(await refusal('astral.yaml', Buffer.concat([utf8('k: "😀é'), raw(0xfe)]))).toContain('byte 0xfe at line 1, column 7');
  });

  it('names the first byte that starts no well-formed UTF-8 sequence', async () => {
    const cases: [Buffer, string][] = [
      [Buffer.concat([utf8('x'), raw(0xed, 0xa0, 0x80)]), 'byte 0xed at line 1, column 2'], // a UTF-16 surrogate
      [Buffer.concat([utf8('xy'), raw(0xe0, 0x80, 0x80)]), 'byte 0xe0 at line 1, column 3'], // overlong
      [Buffer.concat([utf8('€'), raw(0xf4, 0x90, 0x80, 0x80)]), 'byte 0xf4 at line 1, column 2'], // past U+10FFFF
      [Buffer.concat([utf8('𝄞\n'), raw(0xe2, 0x82)]), 'byte 0xe2 at line 2, column 1'], // cut short at the end
      [Buffer.concat([utf8('ok'), raw(0x80)]), 'byte 0x80 at line 1, column 3'], // a continuation byte alone
    ];
    for (const [i, [bytes, where]] of cases.entries()) expect(await refusal(`bad-${i}.txt`, bytes)).toContain(where);
  });
});
