import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { decisionCacheRelease, iamgateVersion } from '../../src/app/version.js';

const VERSION_MODULE = fileURLToPath(new URL('../../src/app/version.ts', import.meta.url));

/** The release another process, of a version it cannot tell, gives its decision cache keys. */
async function unknownReleaseOfAnotherProcess(): Promise<string> {
  const script = `import { decisionCacheRelease } from ${JSON.stringify(VERSION_MODULE)}; process.stdout.write(decisionCacheRelease('unknown'));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script]);
  return stdout;
}

describe('the release decision cache keys carry', () => {
  it('is the package version when package.json names one', () => {
    expect(iamgateVersion()).toMatch(/^\d+\.\d+\.\d+/);
    expect(decisionCacheRelease()).toBe(iamgateVersion());
    expect(decisionCacheRelease('1.4.0')).toBe('1.4.0');
  });

  it('is private to the process when the version is unknown, so such a process shares no decisions', () => {
    const release = decisionCacheRelease('unknown');
    expect(release).not.toBe('unknown');
    expect(release).toMatch(/^unknown\.[0-9a-f]{16}$/);
    expect(decisionCacheRelease('unknown')).toBe(release);
  });

  it('differs between two processes that cannot tell their version, so neither reads the other’s decisions', async () => {
    const [first, second] = await Promise.all([unknownReleaseOfAnotherProcess(), unknownReleaseOfAnotherProcess()]);
    expect(first).toMatch(/^unknown\.[0-9a-f]{16}$/);
    expect(new Set([first, second, decisionCacheRelease('unknown')]).size).toBe(3);
  }, 30_000);
});
