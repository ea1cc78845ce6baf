// The ports freePort hands out: outside the range where the kernel picks outgoing connections' local
// ports, never the same twice, and claimed for this process so no other test process takes them.
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canConnect } from './net.js';
import { freePort } from './redis.js';

const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

describe('freePort', () => {
  it('hands out distinct ports below the ephemeral range that nothing listens on, each claimed by this process', async () => {
    const ports: number[] = [];
    for (let i = 0; i < 50; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThan(1023);
      expect(port).toBeLessThan(ephemeralLow);
      expect(await canConnect(port)).toBe(false);
      expect(readFileSync(join(tmpdir(), 'iamgate-test-ports', String(port)), 'utf8')).toBe(String(process.pid));
    }
  });
});
