import { describe, expect, it } from 'vitest';
import { decisionCacheRelease, iamgateVersion } from '../../src/app/version.js';

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
});
