// iamgate's version, read once from the package.json beside src/ and dist/ (the image copies it
// to /app too), for `iamgate --version`, the start-up log and the iamgate_build_info metric.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

const UNKNOWN = 'unknown';
let cached: string | undefined;

/** The package version, or "unknown" when package.json cannot be read. */
export function iamgateVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
    cached = typeof version === 'string' ? version : UNKNOWN;
  } catch {
    cached = UNKNOWN;
  }
  return cached;
}

// Drawn once per process: a process that cannot tell its release shares decisions with no other.
const unknownRelease = `${UNKNOWN}.${randomBytes(8).toString('hex')}`;

/**
 * The release the decision cache's keys carry. Replicas share Redis entries only within one
 * release, as two releases may decide the same files differently; a process whose version is
 * unknown cannot tell which release it is, so its keys are its own (any doubt shares nothing).
 */
export function decisionCacheRelease(version: string = iamgateVersion()): string {
  return version === UNKNOWN ? unknownRelease : version;
}
