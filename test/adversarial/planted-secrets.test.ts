// Credentials planted where a caller can put them — the Authorization header, a cookie, query
// parameters (access_token, id_token, code), the path, STS fields (a web identity token, a session
// name, a TOTP code) — never reach the audit trail or the operational log, whole or in part: no
// piece of a token's payload or signature, and no TOTP code, is found in either afterwards.
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIamgate, loadConfig, type Iamgate } from '../../src/app/index.js';
import { tokenFor, writeServedConfig, type ServedFiles } from '../audit/served.js';
import { rawRequest } from '../support/net.js';
import { startTestUpstream, type TestUpstream } from '../support/upstream.js';

let files: ServedFiles;
let upstream: TestUpstream;
let served: Iamgate;
const logged: string[] = [];

beforeAll(async () => {
  upstream = await startTestUpstream();
  files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url });
  const loaded = await loadConfig({ file: files.config, env: {} });
  if (!loaded.ok) throw new Error('the served configuration does not load');
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString('utf8'));
      done();
    },
  });
  // The most the log says: every detail a refusal carries.
  served = await createIamgate(loaded.config, { logger: pino({ level: 'trace' }, sink) });
  const first = await served.gateway.initialLoad;
  if (!first.ok) throw new Error(first.problems.join('\n'));
}, 30_000);

afterAll(async () => {
  await served?.stop(1000);
  await upstream?.close();
  await files?.remove();
});

const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** The pieces of a token no record or log line may hold: its payload and signature, and their halves. */
function piecesOf(token: string): string[] {
  const [, payload = '', signature = ''] = token.split('.');
  return [payload, signature, payload.slice(0, 24), payload.slice(-24), signature.slice(0, 24), signature.slice(-24)];
}

describe('credentials planted in a request', () => {
  it('leave no piece of a token, and no TOTP code, in the audit trail or the operational log', async () => {
    const valid = await tokenFor(files.config, 'carol');
    // The same token with another signature: well formed, refused, and never to be written down.
    const [h, p] = valid.split('.');
    const forged = `${h}.${p}.${Buffer.alloc(64, 7).toString('base64url')}`;
    const planted = await tokenFor(files.config, 'alice');
    const code = '918273';
    const base = served.gateway.url;
    const q = `access_token=${planted}&id_token=${planted}&code=${code}`;

    const answers = [
      await rawRequest(`${base}/orders/1?${q}`, { headers: { authorization: `Bearer ${forged}`, cookie: `session=${planted}; csrf=${code}` } }),
      await rawRequest(`${base}/orders/${planted}?${q}`, { headers: { authorization: `Bearer ${valid}`, cookie: `session=${planted}` } }),
      await rawRequest(`${base}/orders/1`, { headers: { authorization: `Bearer ${planted.slice(0, planted.lastIndexOf('.') - 3)}` } }),
      // A token naming another token as its issuer: refused as token_issuer_unknown, whose detail quotes the issuer.
      await rawRequest(`${base}/orders/1`, { headers: { authorization: `Bearer ${b64({ alg: 'ES256', typ: 'JWT' })}.${b64({ iss: planted, sub: 'carol' })}.${b64('sig')}` } }),
      await rawRequest(`${base}/.iamgate/sts/AssumeRoleWithWebIdentity`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ RoleArn: 'arn:aws:iam::111122223333:role/OrdersWorker', RoleSessionName: planted, WebIdentityToken: forged }),
      }),
      await rawRequest(`${base}/.iamgate/sts/AssumeRole`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${valid}` },
        body: JSON.stringify({ RoleArn: `arn:aws:iam::111122223333:role/${planted}`, RoleSessionName: planted, SourceIdentity: planted }),
      }),
      await rawRequest(`${base}/.iamgate/sts/GetSessionToken`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${valid}` },
        body: JSON.stringify({ TokenCode: code, SerialNumber: planted }),
      }),
      await rawRequest(`${base}/.iamgate/sts/mfa/confirm`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${valid}` },
        body: `{"TokenCode":"${code}","x":"${planted}`,
      }),
    ];
    // Every answer is one: a bad token 401, the rest refused or allowed, never a 500.
    for (const a of answers) expect(a.status).toBeLessThan(500);
    // A request through the pipeline is recorded before it is answered: the trail holds the calls above.
    await rawRequest(`${base}/orders/1`, { headers: { authorization: `Bearer ${valid}` } });
    const trail = await readFile(files.trail, 'utf8');
    const log = logged.join('');
    expect(trail.split('\n').length).toBeGreaterThan(answers.length);
    expect(log).toContain('token_signature_invalid');
    for (const piece of [...piecesOf(planted), ...piecesOf(forged), ...piecesOf(valid)]) {
      expect(trail.includes(piece) ? piece : '').toBe('');
      expect(log.includes(piece) ? piece : '').toBe('');
    }
    expect([trail.includes(code), log.includes(code)]).toEqual([false, false]);
  });
});
