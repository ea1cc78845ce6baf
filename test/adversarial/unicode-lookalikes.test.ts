// Unicode look-alikes of separators and dots (`．．`, `／`, `＼`, `％`, `‥`, ...) against the real
// gateway: an upstream that folds them with NFKC would resolve `/public/．．/admin` into `/admin`, so
// every code point whose NFKC form adds `.`, `/`, `\`, `%`, `?`, `#` or `;` (computed over all of
// Unicode) is refused — percent-encoded anywhere in the path or in a route parameter, raw or encoded
// in a forward-auth original URI — with 400 unicode_lookalike, nothing forwarded and one audit record.
import { describe, expect, it } from 'vitest';
import { useTestGateway, type TestGateway } from '../support/gateway.js';
import { codePointName, placements, SPELLINGS, spell, UNICODE_CLASSES, type Spelling } from '../support/unicode.js';
import { useCallers, type Callers } from './support/callers.js';
import { exchange, jsonOf } from './support/raw.js';

interface Answer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly forwarded: readonly string[];
  readonly records: number;
}

/** Sends one request, its bytes exactly as written (latin1 text: raw UTF-8 stays raw), and reads what came of it. */
async function send(gw: TestGateway, c: Callers, target: string, lines: readonly string[] = []): Promise<Answer> {
  const before = gw.upstream.received.length;
  const head = `GET ${target} HTTP/1.1\r\nHost: x\r\n${c.line.alice}\r\n${lines.map((l) => `${l}\r\n`).join('')}Connection: close\r\n\r\n`;
  const r = await exchange(c.port, Buffer.from(head, 'latin1'));
  const status = r.statuses[0] ?? 0;
  const body = status === 200 ? {} : jsonOf(r.text);
  const records = body['requestId'] === undefined ? -1 : gw.audit.decisionsFor(String(body['requestId'])).length;
  return { status, body, forwarded: gw.upstream.received.slice(before).map((x) => x.url), records };
}

/** What a refused look-alike must come to; any difference is described. */
function refusal(a: Answer, reason: string): string | undefined {
  const ok = a.status === 400 && a.body['code'] === 'unicode_lookalike' && a.body['reason'] === reason && a.forwarded.length === 0 && a.records === 1;
  return ok ? undefined : `${a.status} ${JSON.stringify(a.body)} forwarded ${JSON.stringify(a.forwarded)}, ${a.records} audit records`;
}

/**
 * Raw bytes above 0x7f in a request line never reach the normaliser: Node's HTTP parser refuses
 * them first (400 malformed_request, audited like any refusal). That refusal is what a raw
 * spelling must get there; the normaliser's own answer to raw bytes is pinned through
 * forward-auth headers below.
 */
function requestLineRefusal(a: Answer, how: Spelling, reason: string): string | undefined {
  if (how === 'upper' || how === 'lower') return refusal(a, reason);
  const ok = a.status === 400 && a.body['code'] === 'malformed_request' && a.forwarded.length === 0 && a.records === 1;
  return ok ? undefined : `${a.status} ${JSON.stringify(a.body)} forwarded ${JSON.stringify(a.forwarded)}, ${a.records} audit records`;
}

const { lookalikes, otherChanged } = UNICODE_CLASSES;
const names = lookalikes.map((ch) => [codePointName(ch), ch] as const);

describe('Unicode look-alikes of separators and dots', () => {
  const gw = useTestGateway();
  const c = useCallers(gw);

  it('finds the whole class over Unicode, the fullwidth and small forms and the leaders among it', () => {
    expect(lookalikes).toEqual(expect.arrayContaining(['\uFF0E', '\uFE52', '\u2024', '\u2025', '\uFF0F', '\uFF3C', '\uFE68', '\uFF05']));
  });

  it.each(names)('refuses %s raw and percent-encoded, first, middle and last in the path', async (_name, ch) => {
    const wrong: string[] = [];
    for (const how of SPELLINGS) {
      for (const { where, target } of placements(spell(ch, how))) {
        const problem = requestLineRefusal(await send(gw, c, target), how, 'nfkc_separator');
        if (problem) wrong.push(`${how}, ${where}: ${problem}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it.each(names)('refuses %s in a route parameter that becomes the resource ARN, with or without a query', async (_name, ch) => {
    const wrong: string[] = [];
    for (const how of SPELLINGS) {
      for (const target of [`/orders/${spell(ch, how)}`, `/orders/1${spell(ch, how)}2?x=1`]) {
        const problem = requestLineRefusal(await send(gw, c, target), how, 'nfkc_separator');
        if (problem) wrong.push(`${how} ${target}: ${problem}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('refuses every look-alike in a forward-auth original URI, raw, encoded and mixed', async () => {
    const wrong: string[] = [];
    for (const ch of lookalikes) {
      for (const how of SPELLINGS) {
        const a = await send(gw, c, '/.iamgate/authz', ['X-Original-Method: GET', `X-Original-URI: /public/${spell(ch, how)}/admin/users`]);
        const problem = refusal(a, 'nfkc_separator');
        if (problem) wrong.push(`${codePointName(ch)} ${how}: ${problem}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('forwards other characters NFKC changes, canonically encoded, when refuseNonNfkc is off', async () => {
    const a = await send(gw, c, `/public/%ef%bd%86ile-${spell('\uFB01', 'lower')}`);
    expect(a.status).toBe(200);
    expect(a.forwarded).toEqual(['/public/%EF%BD%86ile-%EF%AC%81']);
  });

  it('forwards characters that only look like separators to the eye but NFKC leaves alone (division slash)', async () => {
    const a = await send(gw, c, '/public/..%e2%88%95admin/users');
    expect(a.status).toBe(200);
    expect(a.forwarded).toEqual(['/public/..%E2%88%95admin/users']);
  });
});

describe('paths.refuseNonNfkc', () => {
  const gw = useTestGateway({ config: { paths: { refuseNonNfkc: true } } });
  const c = useCallers(gw);

  it('refuses a path with any character NFKC changes, raw or encoded, with 400 unicode_lookalike (nfkc_changed)', async () => {
    const sample = otherChanged.filter((_, i) => i % 97 === 0);
    expect(sample.length).toBeGreaterThan(40);
    const wrong: string[] = [];
    for (const ch of sample) {
      for (const how of SPELLINGS) {
        const problem = requestLineRefusal(await send(gw, c, `/public/x${spell(ch, how)}`), how, 'nfkc_changed');
        if (problem) wrong.push(`${codePointName(ch)} ${how}: ${problem}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('still forwards non-ASCII paths already in NFKC form', async () => {
    const a = await send(gw, c, '/public/caf%C3%A9-%E6%97%A5%E6%9C%AC');
    expect(a.status).toBe(200);
    expect(a.forwarded).toEqual(['/public/caf%C3%A9-%E6%97%A5%E6%9C%AC']);
  });
});
