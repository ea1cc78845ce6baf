// Private key files that every user of the machine may read: iamgate starts (a Secret mounted with
// its default 0644 must not stop a gateway), and says so in its log and in /readyz's warnings,
// naming the key, the file and its mode. Group-readable keys (0440, as the chart mounts them for
// fsGroup) and iamgate's own generated keys (0600) give no warning.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Iamgate } from '../../src/app/index.js';
import { fixtureDoc } from '../support/gateway.js';
import { startIamgate } from '../support/iamgate.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-key-modes-'));
});
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

/** Starts iamgate with an audit signing key and an MFA key file of the given modes; its readiness warnings. */
async function warningsWith(name: string, modes: { audit: number; mfa: number }): Promise<readonly string[]> {
  const auditKey = join(dir, `${name}-audit.pem`);
  const mfaKey = join(dir, `${name}-mfa.key`);
  await writeFile(auditKey, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(mfaKey, `${randomBytes(32).toString('base64')}\n`);
  await chmod(auditKey, modes.audit);
  await chmod(mfaKey, modes.mfa);
  let iamgate: Iamgate | undefined;
  try {
    ({ iamgate } = await startIamgate({
      doc: fixtureDoc({
        audit: { sink: 'file', file: { path: join(dir, `${name}-trail.jsonl`) }, signingKeyFile: auditKey },
        auth: {
          stateDir: join(dir, `${name}-state`),
          mfa: { encryptionKeyFile: mfaKey },
          // Its key is generated at start, 0600.
          issuers: [{ name: 'dev', issuer: 'https://dev.test', audiences: ['iamgate'], algorithms: ['ES256'], keyFile: join(dir, `${name}-dev.json`), developmentKey: true }],
        },
      }),
    }));
    return iamgate.operations.readiness().warnings ?? [];
  } finally {
    await iamgate?.stop(0);
  }
}

describe('private key files every user may read', () => {
  it('start with a warning naming each key, its file and its mode', async () => {
    const warnings = await warningsWith('open', { audit: 0o644, mfa: 0o606 });
    expect(warnings).toEqual([
      `auth.mfa.encryptionKeyFile: ${join(dir, 'open-mfa.key')} is a private key that every user may write (mode 0606): chmod o-rw, or mount it with defaultMode 0400`,
      `audit.signingKeyFile: ${join(dir, 'open-audit.pem')} is a private key that every user may read (mode 0644): chmod o-rw, or mount it with defaultMode 0400`,
    ]);
  });

  it('give no warning when only their owner and group may read them, nor for the keys iamgate generates', async () => {
    expect(await warningsWith('closed', { audit: 0o440, mfa: 0o600 })).toEqual([]);
  });
});
