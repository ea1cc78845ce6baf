// Reading a file iamgate is given (a configuration, a directory, a policy, a route map, a key, a
// case file) as text, in bounded time and memory whatever the path names: a FIFO is opened without
// waiting for a writer and refused, as are devices (/dev/zero never ends) and sockets, and a file
// larger than the limit is refused before it is read, so a hostile path gets a clear error instead
// of a hang or a process that reads until it runs out of memory. What is read must be text: a
// leading byte-order mark is dropped (editors on Windows write one), and bytes that are not UTF-8
// or a NUL character are refused where they are, rather than read as U+FFFD or kept, so a policy
// never compares a value other than the one its author meant.
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** The largest file read as text unless a caller says otherwise: far above any real policy set. */
export const MAX_TEXT_FILE_BYTES = 16 * 1024 * 1024;

// O_NONBLOCK: opening a FIFO for reading would otherwise wait, in a libuv thread, for a writer.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** A path that is not a regular file, a file past the size limit, or one that is not text: `code` says which, `message` why, without the path. */
export class TextFileError extends Error {
  readonly code: 'EISDIR' | 'ENOTREGULAR' | 'EFBIG' | 'ENOTTEXT';
  readonly path: string;
  constructor(code: TextFileError['code'], path: string, message: string) {
    super(message);
    this.name = 'TextFileError';
    this.code = code;
    this.path = path;
  }
}

function kindOf(stats: Stats): string {
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  return 'a socket';
}

/** Throws TextFileError unless `stats` is a regular file of at most `maxBytes`. */
function checkStats(path: string, stats: Stats, maxBytes: number): void {
  if (stats.isDirectory()) throw new TextFileError('EISDIR', path, 'a folder, not a file');
  if (!stats.isFile()) throw new TextFileError('ENOTREGULAR', path, `${kindOf(stats)}, not a regular file`);
  if (stats.size > maxBytes) throw tooLarge(path, maxBytes);
}

/**
 * The system's commonest reasons for not reading a file, in words (a raw `ENOENT` leaves a newcomer
 * guessing). The one table every command and loader words file errors with, so a missing file reads
 * the same wherever it is named.
 */
const SYSTEM_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or folder',
  EACCES: 'permission denied',
  ELOOP: 'too many symbolic links',
  ENOTDIR: 'a path through something that is not a folder',
  EISDIR: 'a folder, not a file',
  EROFS: 'on a read-only file system',
};

/** Why a file could not be read in words, when it is a reason the table above (or TextFileError) knows. */
export function knownFileReason(err: unknown): string | undefined {
  if (err instanceof TextFileError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === undefined ? undefined : SYSTEM_REASONS[code];
}

/** Why a file could not be read, in short: a known reason in words, else the system's code, else the message. */
export function fileErrorReason(err: unknown): string {
  return knownFileReason(err) ?? (err as NodeJS.ErrnoException | undefined)?.code ?? (err instanceof Error ? err.message : String(err));
}

const tooLarge = (path: string, maxBytes: number): TextFileError => new TextFileError('EFBIG', path, `larger than ${maxBytes} bytes`);

/** Collects what is read, 64 KiB at a time, refusing a file that grows past the limit while it is read. */
class Chunks {
  private readonly parts: Buffer[] = [];
  private total = 0;
  constructor(
    private readonly path: string,
    private readonly maxBytes: number,
  ) {}
  /** A buffer for the next read. */
  next(): Buffer {
    return Buffer.allocUnsafe(64 * 1024);
  }
  /** Keeps `bytesRead` bytes of `chunk`; false once the file has ended or is too large. */
  keep(chunk: Buffer, bytesRead: number): boolean {
    if (bytesRead === 0) return false;
    this.parts.push(chunk.subarray(0, bytesRead));
    this.total += bytesRead;
    return this.total <= this.maxBytes;
  }
  text(): string {
    if (this.total > this.maxBytes) throw tooLarge(this.path, this.maxBytes);
    return decodeText(this.path, Buffer.concat(this.parts, this.total));
  }
}

// fatal: a byte that is not UTF-8 throws instead of becoming U+FFFD; a leading BOM is dropped.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The length of the well-formed UTF-8 sequence at `i`, or 0 when there is none (the Unicode
 * standard's table 3-7: no overlong forms, no surrogates, nothing past U+10FFFF). Checked byte by
 * byte, without a copy, so finding a bad byte near the end of a large file stays linear.
 */
function sequenceAt(bytes: Buffer, i: number): number {
  const b = bytes[i]!;
  if (b < 0x80) return 1;
  const [length, low, high] = b >= 0xc2 && b <= 0xdf ? [2, 0x80, 0xbf] : b === 0xe0 ? [3, 0xa0, 0xbf] : b === 0xed ? [3, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [3, 0x80, 0xbf] : b === 0xf0 ? [4, 0x90, 0xbf] : b === 0xf4 ? [4, 0x80, 0x8f] : b >= 0xf1 && b <= 0xf3 ? [4, 0x80, 0xbf] : [0, 0, 0];
  if (length === 0) return 0;
  const second = bytes[i + 1];
  if (second === undefined || second < low || second > high) return 0;
  for (let k = 2; k < length; k++) {
    const next = bytes[i + k];
    if (next === undefined || next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}

/** The offset of the first byte that does not start a well-formed UTF-8 sequence (found only once decoding failed). */
function firstInvalidByte(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; ) {
    const length = sequenceAt(bytes, i);
    if (length === 0) return i;
    i += length;
  }
  return bytes.length;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** `line L, column C` (1-based, columns in characters, as editors count them: a dropped BOM is none) of the byte at `offset`. */
function whereInBytes(bytes: Buffer, offset: number): string {
  const lineStart = bytes.lastIndexOf(0x0a, offset - 1) + 1;
  let line = 1;
  for (let at = bytes.indexOf(0x0a); at !== -1 && at < lineStart; at = bytes.indexOf(0x0a, at + 1)) line++;
  const start = lineStart === 0 && bytes.subarray(0, 3).equals(BOM) ? 3 : lineStart;
  let column = 1;
  for (const _ of bytes.subarray(start, offset).toString('utf8')) column++;
  return `line ${line}, column ${column}`;
}

/** The file's bytes as text, or TextFileError ENOTTEXT naming where they stop being text. */
function decodeText(path: string, bytes: Buffer): string {
  let text: string;
  try {
    text = UTF8.decode(bytes);
  } catch {
    const at = firstInvalidByte(bytes);
    const byte = (bytes[at] ?? 0).toString(16).padStart(2, '0');
    throw new TextFileError('ENOTTEXT', path, `not UTF-8 text: byte 0x${byte} at ${whereInBytes(bytes, at)} (save the file as UTF-8)`);
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) throw new TextFileError('ENOTTEXT', path, `not a text file: a NUL byte at ${whereInBytes(bytes, nul)}`);
  return text;
}

/** Opens a regular file of any size for reading (a trail to stream), refusing anything else as readTextFile does. */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    checkStats(path, await handle.stat(), Infinity);
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Reads a regular file as UTF-8 text, at most `maxBytes`. Errors: the system's (ENOENT, EACCES,
 * ELOOP, ...) as they come, and TextFileError for a folder, a non-regular file or a file too large.
 */
export async function readTextFile(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string> {
  const handle = await open(path, OPEN_FLAGS);
  try {
    checkStats(path, await handle.stat(), maxBytes);
    const chunks = new Chunks(path, maxBytes);
    for (let chunk = chunks.next(); chunks.keep(chunk, (await handle.read(chunk, 0, chunk.length, null)).bytesRead); chunk = chunks.next());
    return chunks.text();
  } finally {
    await handle.close();
  }
}

/** As readTextFile, synchronously (loaders that read a handful of small files in one pass). */
export function readTextFileSync(path: string, maxBytes = MAX_TEXT_FILE_BYTES): string {
  const fd = openSync(path, OPEN_FLAGS);
  try {
    checkStats(path, fstatSync(fd), maxBytes);
    const chunks = new Chunks(path, maxBytes);
    for (let chunk = chunks.next(); chunks.keep(chunk, readSync(fd, chunk, 0, chunk.length, null)); chunk = chunks.next());
    return chunks.text();
  } finally {
    closeSync(fd);
  }
}
