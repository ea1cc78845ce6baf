// A configuration problem with a key that holds a secret (the Redis URL and its password, the MFA
// encryption key) names the key and what is wrong with it, never the value: problems are printed
// by `iamgate validate` and `iamgate serve`, into terminals, CI output and logs.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/index.js';
import { runCli } from '../../src/cli/cli.js';
import '../../src/cli/serve.js';
import '../../src/cli/validate.js';

const PASSWORD = 'hunter2-redis-password';
const KEY = 'c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=';
const DIGITS = '1234567890123456789012345678901234567890123456789012345678901234';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'iamgate-secrets-'));
});
afterAll(async () => {
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

async function cli(...argv: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await runCli(argv, { stdout: (l) => lines.push(l), stderr: (l) => lines.push(l) });
  return { code, text: lines.join('\n') };
}

describe('problems with secret configuration keys', () => {
  it.each([
    ['redis.url written as a list', `redis: { url: ["redis://:${PASSWORD}@localhost:6379"] }`, PASSWORD, 'redis.url: must be a non-empty string (got a list, not shown: the key holds a secret)'],
    ['auth.mfa.encryptionKey written as a mapping', `auth: { mfa: { encryptionKey: { value: "${KEY}" } } }`, KEY, 'auth.mfa.encryptionKey: must be a non-empty string (got a mapping, not shown: the key holds a secret)'],
    ['auth.mfa.encryptionKey written as a short number', 'auth: { mfa: { encryptionKey: 8675309 } }', '8675309', 'auth.mfa.encryptionKey: must be a non-empty string (got a number, not shown: the key holds a secret)'],
    ['auth.mfa.encryptionKey written as hex digits that YAML reads as a number', `auth: { mfa: { encryptionKey: ${DIGITS} } }`, DIGITS, 'auth.mfa.encryptionKey: a number a double cannot hold exactly (not shown: the key holds a secret)'],
  ])('%s: validate and serve name the key and the problem, never the value', async (name, line, secret, problem) => {
    const [key, reason] = problem.split(/: (.*)/s) as [string, string];
    const file = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
    await writeFile(file, `version: 1\nmode: development\n${line}\n`);
    for (const argv of [['validate', file], ['serve', '--config', file]]) {
      const { code, text } = await cli(...argv);
      expect(code).not.toBe(0);
      expect(text).toMatch(new RegExp(`${key.replace(/\./g, '\\.')}: ${reason.replace(/[()]/g, '\\$&')}`));
      expect(text).not.toContain(secret);
    }
    const loaded = await loadConfig({ file });
    expect(loaded.ok).toBe(false);
    expect(JSON.stringify(loaded)).not.toContain(secret);
  });
});
