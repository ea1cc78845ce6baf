// The identity assertion as `iamgate serve` wires it: opened from the `assertion` section (when
// present) before the gateway starts, its issuer handed to the proxy, its public keys published as
// a JWKS on the operations port and on the gateway's reserved paths, its key watch stopped last.
import { dirname, resolve } from 'node:path';
import type { Env, Hono } from 'hono';
import type { Logger } from 'pino';
import { ASSERTION_JWKS_PATH, openAssertion, readAssertionConfig, type AssertionIssuer } from '../assertion/index.js';
import type { AuthConfig } from '../auth/index.js';
import { formatProblems, type GatewayConfig } from '../config/index.js';

export interface ServeAssertion {
  readonly issuer: AssertionIssuer;
  /** Serves the JWKS at ASSERTION_JWKS_PATH on an app (the operations app, the gateway's). */
  mount<E extends Env>(app: Hono<E>): void;
  close(): void;
}

/** Opens the assertion the configuration asks for; undefined when the section is absent. Throws naming the key at fault. */
export async function openServeAssertion(config: GatewayConfig, auth: AuthConfig, logger: Logger): Promise<ServeAssertion | undefined> {
  const development = config.mode === 'development';
  const read = readAssertionConfig(config.sections['assertion'], { development, ...(config.file ? { file: config.file } : {}) });
  if (!read.config) {
    if (read.findings.length > 0) throw new Error(`the assertion configuration is invalid: ${formatProblems(read.findings).join('; ')}`);
    return undefined;
  }
  const baseDir = config.file ? dirname(config.file) : process.cwd();
  const opened = await openAssertion(read.config, {
    baseDir,
    stateDir: resolve(baseDir, auth.stateDir),
    development,
    onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'assertion key ring not reloaded'),
  });
  logger.info({ header: read.config.header, audience: read.config.audience, keyFile: opened.keyFile, keyGenerated: opened.generated }, 'identity assertion on');
  const { issuer } = opened;
  return {
    issuer,
    mount: (app) => void app.get(ASSERTION_JWKS_PATH, (c) => c.json(issuer.jwks(), 200, { 'cache-control': 'max-age=300' })),
    close: opened.close,
  };
}
