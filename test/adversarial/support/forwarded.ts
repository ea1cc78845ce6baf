// What the upstream received for one request sent through the gateway with extra header lines:
// for suites that check, header name by header name, what iamgate passes on.
import { expect } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';
import type { Callers } from './callers.js';
import { exchange } from './raw.js';

export interface Forwarded {
  readonly status: number;
  /** The upstream's raw headers, or undefined when nothing reached it. */
  readonly raw: readonly string[] | undefined;
}

/** Sends `GET target` as alice with extra header lines, over its own connection. */
export async function sendThrough(gw: TestGateway, c: Callers, target: string, lines: readonly string[]): Promise<Forwarded> {
  const before = gw.upstream.received.length;
  const r = await exchange(c.port, `GET ${target} HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`);
  const seen = gw.upstream.received.slice(before);
  expect(seen.length).toBeLessThanOrEqual(1);
  return { status: r.statuses[0] ?? 0, raw: seen[0]?.rawHeaders };
}

/** The values of one header (any case) in a raw header list, in order. */
export function valuesOf(raw: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === lower) out.push(raw[i + 1]!);
  return out;
}

/** The union of two header-name lists, lower-cased, without repeats. */
export function unionOf(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b].map((n) => n.toLowerCase()))];
}
