// Guessing TOTP codes against the gateway as `iamgate serve` assembles it (no Redis: the in-process
// state and the file of sealed secrets), over real HTTP: a burst of concurrent guesses must get no
// more attempts than the lockout allows one at a time.
import { generate } from 'otplib';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIamgate, loadConfig, type Iamgate } from '../../src/app/index.js';
import { formatProblems } from '../../src/config/index.js';
import { tokenFor, writeServedConfig, type ServedFiles } from '../audit/served.js';
import { rawRequest } from '../support/net.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

/** `auth.mfa.maxFailures` by default. */
const MAX_FAILURES = 5;

let files: ServedFiles;
let upstream: TestUpstream;
let served: Iamgate;
let carol: string;

beforeAll(async () => {
  upstream = await startTestUpstream();
  files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url });
  const loaded = await loadConfig({ file: files.config, env: {} });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems).join('\n'));
  served = await createIamgate(loaded.config, { logger: pino({ level: 'silent' }) });
  const first = await served.gateway.initialLoad;
  if (!first.ok) throw new Error(first.problems.join('\n'));
  carol = await tokenFor(files.config, 'carol');
}, 30_000);

afterAll(async () => {
  await served?.stop(1000);
  await upstream?.close();
  await files?.remove();
});

/** POSTs a JSON body to an STS endpoint as carol; the status and the error code (or `ok`). */
async function sts(path: string, body: unknown): Promise<{ status: number; code: string; body: Record<string, unknown> }> {
  const res = await rawRequest(`${served.gateway.url}/.iamgate/sts/${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${carol}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const parsed = JSON.parse(res.body) as Record<string, unknown>;
  return { status: res.status, code: typeof parsed['code'] === 'string' ? parsed['code'] : 'ok', body: parsed };
}

describe('TOTP guesses sent all at once', () => {
  it('checks no more codes than mfa.maxFailures, however many guesses arrive together, and then refuses even the right code', async () => {
    const enrolled = await sts('mfa/enroll', {});
    const secret = enrolled.body['SecretBase32'] as string;
    expect((await sts('mfa/confirm', { TokenCode: await generate({ secret }) })).status).toBe(200);

    const right = await generate({ secret });
    // Codes that are wrong now and in the steps either side (the window a code is accepted in).
    const nearby = new Set(await Promise.all([-30, 0, 30].map((s) => generate({ secret, epoch: Math.floor(Date.now() / 1000) + s }))));
    const wrong = Array.from({ length: 60 }, (_, i) => String(100_000 + i * 7_919)).filter((c) => !nearby.has(c));
    const answers = await Promise.all(wrong.map((TokenCode) => sts('GetSessionToken', { TokenCode })));

    const tally = new Map<string, number>();
    for (const a of answers) tally.set(`${a.status} ${a.code}`, (tally.get(`${a.status} ${a.code}`) ?? 0) + 1);
    expect(Object.fromEntries(tally)).toEqual({ '403 mfa_code_invalid': MAX_FAILURES - 1, '429 mfa_locked': wrong.length - (MAX_FAILURES - 1) });
    expect(await sts('GetSessionToken', { TokenCode: right })).toMatchObject({ status: 429, code: 'mfa_locked' });
  });
});
