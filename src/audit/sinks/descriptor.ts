// What a file descriptor is, read once when a sink opens it: whether other writers' lines can
// interleave with ours (a pipe or a socket: each write is then capped at PIPE_BUF), and whether a
// write on the main thread can never stall the event loop, so the sink may write there instead of
// on libuv's thread pool.
//
// A regular file or a character device (/dev/null, a terminal) takes a write at once: the kernel
// copies the bytes to its page cache or device (Node writes its own stdout to these synchronously
// too). A pipe or socket in non-blocking mode (O_NONBLOCK, which libuv sets on stdout as soon as
// `process.stdout` is used, as pino does) answers EAGAIN when full instead of waiting. A blocking
// pipe or socket would hold the main thread until its reader reads: it keeps the thread pool.
import { constants, fstatSync, readFileSync } from 'node:fs';

export interface Descriptor {
  /** A pipe or a socket: writes of other processes can interleave with ours between writes. */
  readonly shared: boolean;
  /** A write can never block the calling thread (it completes or fails at once, EAGAIN included). */
  readonly neverBlocks: boolean;
}

/** The `flags:` line of /proc/self/fdinfo/FD (octal), where Linux shows a descriptor's status flags. */
const FLAGS_LINE = /^flags:\s*([0-7]+)$/m;

/**
 * Whether the descriptor is in non-blocking mode: read from /proc (Linux); false where that cannot
 * be read, so a descriptor whose mode is unknown is treated as blocking (the thread-pool path).
 */
export function nonBlocking(fd: number): boolean {
  let info: string;
  try {
    info = readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1');
  } catch {
    return false;
  }
  const flags = FLAGS_LINE.exec(info)?.[1];
  return flags !== undefined && (parseInt(flags, 8) & constants.O_NONBLOCK) !== 0;
}

/** Describes an open descriptor; one that cannot be examined counts as a blocking pipe (the cautious case). */
export function describeDescriptor(fd: number): Descriptor {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return { shared: true, neverBlocks: false };
  }
  if (stat.isFIFO() || stat.isSocket()) return { shared: true, neverBlocks: nonBlocking(fd) };
  return { shared: false, neverBlocks: stat.isFile() || stat.isCharacterDevice() };
}
