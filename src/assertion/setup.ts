// Opens the identity assertion the configuration describes: its key ring (read from
// `signingKeyFile`, or in development generated once in the state folder) followed for rotations,
// and the issuer the proxy calls. Keys that cannot be read fail the start.
import { isAbsolute, join, resolve } from 'node:path';
import { ensureSigningKeyFile, watchSigningKeyRing } from '../auth/index.js';
import { GENERATED_ASSERTION_KEYS, type AssertionConfig } from './config.js';
import { createAssertionIssuer, type AssertionIssuer } from './issuer.js';

/** Where the operations port publishes the assertion keys (JWKS). */
export const ASSERTION_JWKS_PATH = '/.well-known/iamgate-assertion-jwks.json';

export interface OpenedAssertion {
  readonly issuer: AssertionIssuer;
  /** The key ring file in use, and whether it was generated now. */
  readonly keyFile: string;
  readonly generated: boolean;
  close(): void;
}

/** Opens the assertion issuer; throws, naming the key, when the key ring cannot be read. */
export async function openAssertion(
  config: AssertionConfig,
  deps: { baseDir: string; stateDir: string; development: boolean; now?: () => number; onError?: (err: unknown) => void },
): Promise<OpenedAssertion> {
  const file = config.signingKeyFile === undefined ? join(deps.stateDir, GENERATED_ASSERTION_KEYS) : isAbsolute(config.signingKeyFile) ? config.signingKeyFile : resolve(deps.baseDir, config.signingKeyFile);
  let generated = false;
  try {
    if (config.signingKeyFile === undefined && deps.development) generated = await ensureSigningKeyFile(file, config.algorithm);
    const ring = await watchSigningKeyRing(file, {
      ...(deps.now ? { now: deps.now } : {}),
      intervalMs: config.keyReloadSeconds * 1000,
      ...(deps.onError ? { onError: deps.onError } : {}),
    });
    const issuer = createAssertionIssuer({ ring, header: config.header, audience: config.audience, issuer: config.issuer, ttlSeconds: config.ttlSeconds, ...(deps.now ? { now: deps.now } : {}) });
    return { issuer, keyFile: file, generated, close: () => ring.close() };
  } catch (err) {
    throw new Error(`assertion.signingKeyFile: ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
