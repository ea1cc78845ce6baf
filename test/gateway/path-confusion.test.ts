// Path-confusion attempts against a route the caller may not use (/admin/*): each must be
// refused (400 or 403), or — when it is a legitimate path under an allowed route — reach the
// upstream on a path that a standard URL parser does not resolve into /admin.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestGateway } from '../support/gateway.js';

const CORPUS = [
  '/public/../admin/users',
  '/public/%2e%2e/admin/users',
  '/public/%2E%2E/admin/users',
  '/public/.%2e/admin/users',
  '/public/%2e./admin/users',
  '/public//..//admin/users',
  '//admin/users',
  '///admin//users',
  '/public/%2fadmin/users',
  '/public%2F..%2Fadmin/users',
  '/public/..%2fadmin/users',
  '/public/x/..%2f..%2fadmin',
  '/public/..;/admin/users',
  '/public/x;/../../admin/users',
  '/admin;/users',
  '/admin;jsessionid=1/users',
  '/public/%3B/../admin/users',
  '/ADMIN/users',
  '/Admin/users',
  '/PUBLIC/../admin/users',
  '/admin./users',
  '/admin%2e/users',
  '/admin../users',
  '/public/.../admin/users',
  '/admin%20/users',
  '/public/%c0%ae%c0%ae/admin/users',
  '/public/%c0%ae./admin/users',
  '/public/%e0%80%ae%e0%80%ae/admin/users',
  '/public/%f0%80%80%ae/admin/users',
  '/public/%c0%af..%c0%afadmin/users',
  '/public/%252e%252e/admin/users',
  '/public/%25%32%65%25%32%65/admin/users',
  '/public/%u002e%u002e/admin/users',
  '/public/%%32%65%%32%65/admin/users',
  '/public/\\..\\admin/users',
  '/public/%5c..%5cadmin/users',
  '/public/%00/../admin/users',
  '/admin%00/users',
  '/public/..%00/admin/users',
  '/%2e%2e/admin/users',
  '/public/../../admin/users',
  '/public/%ef%bc%8e%ef%bc%8e/admin/users',
  '/public/x?/../../admin/users',
  '/admin#/public/x',
  'http://127.0.0.1/admin/users',
  '*',
];

/** Sends a raw request line (no client-side normalisation) and returns the status code. */
function rawStatus(port: number, target: string, authorization: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      data += d;
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (!/^HTTP\/1\.1 \d{3}/.test(data)) resolve(0);
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: ${authorization}\r\nConnection: close\r\n\r\n`, 'latin1');
  });
}

/** Where a standard URL parser (one decode, dot segments resolved) would route a path. */
function resolvedPath(target: string): string {
  return decodeURIComponent(new URL(target, 'http://upstream').pathname);
}

describe('path confusion', () => {
  const gw = useTestGateway();
  let alice: string;

  beforeAll(async () => {
    alice = await gw.bearer('alice');
  });

  it('lets the caller reach the allowed route and not the forbidden one, as a baseline', async () => {
    const port = Number(new URL(gw.url).port);
    expect(await rawStatus(port, '/public/readme.txt', alice)).toBe(200);
    expect(await rawStatus(port, '/admin/users', alice)).toBe(403);
  });

  it.each(CORPUS)('never lets %s reach a route the caller is not allowed', async (target) => {
    const port = Number(new URL(gw.url).port);
    const seen = gw.upstream.received.length;
    const status = await rawStatus(port, target, alice);
    const forwarded = gw.upstream.received.slice(seen);
    if (status === 200) {
      // Allowed only as a path under /public/, and the upstream must see it there too.
      expect(forwarded).toHaveLength(1);
      expect(resolvedPath(forwarded[0]!.url)).toMatch(/^\/public\//);
    } else {
      expect([400, 403]).toContain(status);
      expect(forwarded).toEqual([]);
    }
  });

  it('answers every corpus entry with an audited decision, never with a 500', async () => {
    const port = Number(new URL(gw.url).port);
    const statuses = await Promise.all(CORPUS.map((t) => rawStatus(port, t, alice)));
    expect(statuses.filter((s) => s >= 500 || s === 0)).toEqual([]);
    expect(gw.upstream.received.filter((r) => !resolvedPath(r.url).startsWith('/public/'))).toEqual([]);
  });
});
