// iamgate's version, read once from the package.json beside src/ and dist/ (the image copies it
// to /app too), for `iamgate --version`, the start-up log and the iamgate_build_info metric.
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The package version, or "unknown" when package.json cannot be read. */
export function iamgateVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    const version = typeof pkg === 'object' && pkg !== null && 'version' in pkg ? pkg.version : undefined;
    cached = typeof version === 'string' ? version : 'unknown';
  } catch {
    cached = 'unknown';
  }
  return cached;
}
