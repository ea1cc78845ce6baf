// A policy reload fed hostile files: two statements sharing a Sid, JSON nested past the reader's
// depth, a member named twice, a file past the size limit, a `__proto__` member where a statement
// belongs, text that is not JSON. Every such reload fails, names the file, the JSON path where
// there is one and the reason, and leaves the last good set serving (alice still gets her order).
// And wildcards a valid policy may hold (`*?*?*?...`, long literal runs): the matcher's work,
// counted in characters read, stays linear in the resource.
import fc from 'fast-check';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileWildcard } from '../../src/policy/index.js';
import { FIXTURES, startTestGateway, type TestGateway } from '../support/gateway.js';

const ORDERS = 'arn:aws:orders:us-east-1:111122223333:order/*';
const STATEMENT = { Sid: 'Orders', Effect: 'Allow', Action: 'orders:GetOrder', Resource: ORDERS };

let dir = '';
let policyFile = '';
let gw: TestGateway;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-reload-adv-'));
  await mkdir(join(dir, 'policies'));
  policyFile = join(dir, 'policies', 'orders.json');
  await writeFile(policyFile, JSON.stringify({ Version: '2012-10-17', Statement: [STATEMENT] }));
  await writeFile(join(dir, 'directory.yaml'), 'version: 1\naccount: "111122223333"\npartition: aws\npolicies:\n  Orders: { file: policies/orders.json }\nusers:\n  alice: { policies: [Orders] }\n');
  await copyFile(FIXTURES.routes, join(dir, 'routes.yaml'));
  // Only the endpoint reloads: the file watch would reload on its own as well.
  gw = await startTestGateway({ files: { directory: join(dir, 'directory.yaml'), routes: join(dir, 'routes.yaml') }, config: { policies: { watch: false } } });
});

afterAll(async () => {
  await gw?.close();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

const aliceGetsOrder = (): Promise<number> => gw.statusOfGet('alice', '/orders/1');

async function reload(): Promise<{ status: number; ok: boolean; problems: string }> {
  const res = await request(`${gw.opsUrl}/v1/policies/reload`, { method: 'POST' });
  const body = (await res.body.json()) as { ok: boolean; problems?: string[] };
  return { status: res.statusCode, ok: body.ok, problems: (body.problems ?? []).join('\n') };
}

const nested = (depth: number): unknown => (depth === 0 ? 'orders:GetOrder' : [nested(depth - 1)]);

describe('a reload of hostile policy files', () => {
  it.each<readonly [string, () => string, RegExp]>([
    ['two statements sharing a Sid', () => JSON.stringify({ Version: '2012-10-17', Statement: [STATEMENT, { ...STATEMENT, Effect: 'Deny' }] }), /Statement\[1\]\.Sid/],
    ['JSON nested 200 levels deep', () => JSON.stringify({ Version: '2012-10-17', Statement: [{ ...STATEMENT, Action: nested(200) }] }), /deeper than/],
    ['a member named twice', () => `{"Version":"2012-10-17","Statement":[${JSON.stringify(STATEMENT).slice(0, -1)},"Effect":"Deny"}]}`, /Statement\[0\]\.Effect/],
    ['a file past the size limit', () => JSON.stringify({ Version: '2012-10-17', Statement: [STATEMENT], Id: 'x'.repeat(17 * 1024 * 1024) }), /larger than/],
    ['a __proto__ member beside the statements', () => `{"Version":"2012-10-17","Statement":[${JSON.stringify(STATEMENT)}],"__proto__":{"Effect":"Deny"}}`, /__proto__/],
    ['a __proto__ member in a statement', () => `{"Version":"2012-10-17","Statement":[{"__proto__":${JSON.stringify(STATEMENT)}}]}`, /Statement\[0\]\.__proto__: .* \[UNKNOWN_KEY\]/],
    ['text that is not JSON', () => '{"Version":"2012-10-17","Statement":[', /line 1, column \d+ \[JSON_SYNTAX_ERROR\]/],
  ])('fails on %s, names the file and the place, and keeps the last good set serving', async (_name, text, place) => {
    expect(await aliceGetsOrder()).toBe(200);
    await writeFile(policyFile, text());
    const result = await reload();
    expect([result.status, result.ok]).toEqual([422, false]);
    expect(result.problems).toContain(policyFile);
    expect(result.problems).toMatch(place);
    expect(await aliceGetsOrder()).toBe(200);
    await writeFile(policyFile, JSON.stringify({ Version: '2012-10-17', Statement: [STATEMENT] }));
    expect((await reload()).ok).toBe(true);
  });
});

/** A resource string that counts the characters a matcher reads from it. */
function countingText(text: string): { readonly s: string; reads(): number } {
  let reads = 0;
  class Counting extends String {
    override codePointAt(i: number): number | undefined {
      reads++;
      return super.codePointAt(i);
    }
    override charCodeAt(i: number): number {
      reads++;
      return super.charCodeAt(i);
    }
  }
  return { s: new Counting(text) as unknown as string, reads: () => reads };
}

describe('pathological wildcards a policy may hold', () => {
  const FC_SEED = Number(process.env['FC_SEED'] ?? 20261207);
  const FC_RUNS = Number(process.env['FC_RUNS'] ?? 200);

  it('read each character of a resource at most twice, whatever the pattern of *, ? and letters', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[ab*?]{1,300}$/), fc.stringMatching(/^[ab]{0,2000}$/), fc.boolean(), (pattern, resource, ignoreCase) => {
        const text = countingText(resource);
        compileWildcard(pattern, ignoreCase)(text.s);
        expect(text.reads()).toBeLessThanOrEqual(2 * resource.length);
      }),
      { seed: FC_SEED, numRuns: FC_RUNS },
    );
  });

  it('read nothing of a resource shorter than the characters the pattern needs, however long the pattern', () => {
    const text = countingText('ab'.repeat(4096));
    expect(compileWildcard(`*${'?*'.repeat(5000)}${'ab'.repeat(2000)}*`, false)(text.s)).toBe(false);
    expect(text.reads()).toBe(0);
  });

  it('read nothing past where a later segment no longer fits, so no character costs a step per word of a long segment', () => {
    // 3,000 characters before the first segment's match, then 2,000 more: too few for the second.
    const text = countingText(`${'c'.repeat(3000)}${'a'.repeat(10)}${'c'.repeat(2000)}`);
    expect(compileWildcard(`*${'a'.repeat(10)}*${'b'.repeat(2100)}*`, false)(text.s)).toBe(false);
    expect(text.reads()).toBe(3010);
  });
});
