// Where the programs the suites start live: on PATH, or where `npm test`'s pretest step
// (scripts/test-services.mjs) installed them when PATH lacked them. Resolved once per suite.
import { accessSync, constants, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const RECORD = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'iamgate-test', 'services.json');

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function recorded(binary: string): string | undefined {
  try {
    const paths: unknown = JSON.parse(readFileSync(RECORD, 'utf8'));
    const path = paths !== null && typeof paths === 'object' ? (paths as Record<string, unknown>)[binary] : undefined;
    return typeof path === 'string' && executable(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The absolute path of `binary` on PATH, else where the pretest step put it, else undefined. */
export function findBinary(binary: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, binary))) return join(dir, binary);
  }
  return recorded(binary);
}

/** Why a suite cannot start `binary`: one line naming what to run. */
export function missingBinary(binary: string, pkg: string): Error {
  return new Error(`${binary} is not on PATH: run npm test (its pretest step installs it as root on Debian) or apt-get install -y ${pkg}`);
}
