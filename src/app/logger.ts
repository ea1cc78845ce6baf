// The process's logger: pino writing JSON lines to standard output, each line whole in one write
// of at most PIPE_BUF bytes, so that on a pipe other processes share (the workers of `serve
// --workers`, the stdout audit trail) no other writer's line can land inside one of ours.
import { pino, type Logger } from 'pino';
import { PIPE_BUF } from '../audit/index.js';
import { fitLine } from './log-line.js';

/** Where log lines go: standard output unless given (tests read the lines back). */
export type LogDestination = pino.DestinationStream;

/** The logger iamgate logs with, at `level`, writing to `destination` (standard output by default). */
export function createLogger(level: string, destination: LogDestination = standardOutput()): Logger {
  return pino({ level, base: { service: 'iamgate' }, hooks: { streamWrite: fitLine } }, destination);
}

function standardOutput(): LogDestination {
  // sonic-boom joins whole lines into writes of at most `maxWrite` bytes; a line never exceeds it
  // (fitLine), so every write is whole lines within PIPE_BUF: a full pipe takes all of it or none
  // (EAGAIN, tried again whole), never part of a line. process.stdout.fd (not 1): asking for it
  // puts a pipe in non-blocking mode as before, which the stdout audit sink relies on.
  return pino.destination({ dest: process.stdout.fd, sync: false, maxWrite: PIPE_BUF });
}
