// Workload tokens become role sessions named after their subject. Two workloads a role trusts must
// never become the same session (the same principal ARN, x-iamgate-session and audit identity):
// not when their subjects differ only beyond the session name's 64 characters, nor when they
// differ only in characters a session name cannot hold.
import { describe, expect, it } from 'vitest';
import { SESSION_NAME } from '../../src/identity/index.js';
import { useAuthFixture } from '../auth/fixture.js';
import { ANY_WORKLOAD_DIRECTORY } from './support/any-workload.js';

describe('workload sessions named after their subject', () => {
  const f = useAuthFixture({ directoryYaml: ANY_WORKLOAD_DIRECTORY, webIdentityRoles: ['AnyWorkload'] });

  const sessionOf = async (sub: string): Promise<{ arn: string; session: string | undefined }> => {
    const outcome = await f.runtime.authenticator.authenticate({ authorization: `Bearer ${await f.serviceAccountToken(sub)}` });
    if (!outcome.ok) throw new Error(`${sub} was refused: ${outcome.code}`);
    return { arn: outcome.principal.arn, session: outcome.principal.sessionName };
  };

  const distinct = async (subs: readonly string[]): Promise<void> => {
    const sessions = await Promise.all(subs.map(sessionOf));
    for (const s of sessions) expect(s.session).toMatch(SESSION_NAME);
    expect(new Set(sessions.map((s) => s.arn)).size).toBe(subs.length);
  };

  it('keeps apart service accounts of two namespaces whose long account name fills the last 64 characters', async () => {
    const account = `reports-exporter-${'x'.repeat(60)}`;
    await distinct([`system:serviceaccount:prod:${account}`, `system:serviceaccount:sandbox:${account}`]);
  });

  it('keeps apart subjects that differ only in characters a session name cannot hold', async () => {
    await distinct(['ci:org/app', 'ci:org.app', 'ci:org:app', 'ci.org.app', 'ci:org app', 'ci:org\u00e9app', 'ci:orgéapp'.normalize('NFD'), 'ci:org\ud800app', 'ci:org\ud801app']);
  });

  it('keeps apart a subject that reads as another subject’s session name', async () => {
    const first = await sessionOf('team:api');
    await distinct(['team:api', first.session!]);
  });

  it('keeps apart one-character subjects from subjects that look like their padded name', async () => {
    await distinct(['a', 's-a', 's.a']);
  });
});
