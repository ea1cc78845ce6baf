// The process's logger: pino writing JSON lines to standard output, each line whole in one write
// of at most PIPE_BUF bytes, so that on a pipe other processes share (the workers of `serve
// --workers`, the stdout audit trail) no other writer's line can land inside one of ours; and
// with no credential in it, whichever call wrote it (log-redaction.ts).
import { pino, type Logger } from 'pino';
import { PIPE_BUF } from '../audit/index.js';
import type { IamgateConfig } from './config.js';
import { fitLine } from './log-line.js';
import { createLineRedactor } from './log-redaction.js';

/** Where log lines go: standard output unless given (tests read the lines back). */
export type LogDestination = pino.DestinationStream;

/**
 * The logger iamgate logs with, at `level`, writing to `destination` (standard output by default),
 * every line redacted of `secrets` (configuredSecrets), bearer tokens and TOTP codes before it is fitted.
 */
export function createLogger(level: string, destination: LogDestination = standardOutput(), secrets: readonly string[] = []): Logger {
  const redact = createLineRedactor(secrets);
  return pino({ level, base: { service: 'iamgate' }, hooks: { streamWrite: (line) => fitLine(redact(line)) } }, destination);
}

/** The secrets a configuration holds, which no log line may quote: the Redis password (as the URL spells it and decoded) and the MFA encryption key. */
export function configuredSecrets(config: Pick<IamgateConfig, 'redis' | 'auth'>): string[] {
  const secrets: string[] = [];
  const { url } = config.redis;
  const password = url === undefined ? '' : URL.canParse(url) ? new URL(url).password : '';
  if (password !== '') secrets.push(password, decodedOr(password));
  const key = config.auth.mfa.encryptionKey;
  if (key !== undefined) secrets.push(key);
  return secrets;
}

function decodedOr(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function standardOutput(): LogDestination {
  // sonic-boom joins whole lines into writes of at most `maxWrite` bytes; a line never exceeds it
  // (fitLine), so every write is whole lines within PIPE_BUF: a full pipe takes all of it or none
  // (EAGAIN, tried again whole), never part of a line. process.stdout.fd (not 1): asking for it
  // puts a pipe in non-blocking mode as before, which the stdout audit sink relies on.
  return pino.destination({ dest: process.stdout.fd, sync: false, maxWrite: PIPE_BUF });
}
