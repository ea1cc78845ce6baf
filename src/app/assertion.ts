// The identity assertion as iamgate wires it: opened from the `assertion` section (when
// present) before the gateway starts, its issuer handed to the proxy, its public keys published as
// a JWKS on the operations port and on the gateway's reserved paths, its key watch stopped last.
import { dirname, resolve } from 'node:path';
import type { Env, Hono } from 'hono';
import type { Logger } from 'pino';
import { ASSERTION_JWKS_PATH, openAssertion, type AssertionIssuer } from '../assertion/index.js';
import type { IamgateConfig } from './config.js';

export interface ServeAssertion {
  readonly issuer: AssertionIssuer;
  /** Serves the JWKS at ASSERTION_JWKS_PATH on an app (the operations app, the gateway's). */
  mount<E extends Env>(app: Hono<E>): void;
  close(): void;
}

/** Opens the assertion the configuration asks for; undefined when the section is absent. Throws naming the key at fault. */
export async function openServeAssertion(config: IamgateConfig, logger: Logger): Promise<ServeAssertion | undefined> {
  const development = config.mode === 'development';
  const section = config.assertion;
  if (!section) return undefined;
  const baseDir = config.file ? dirname(config.file) : process.cwd();
  const opened = await openAssertion(section, {
    baseDir,
    stateDir: resolve(baseDir, config.auth.stateDir),
    development,
    onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'assertion key ring not reloaded'),
  });
  logger.info({ header: section.header, audience: section.audience, keyFile: opened.keyFile, keyGenerated: opened.generated }, 'identity assertion on');
  const { issuer } = opened;
  return {
    issuer,
    mount: (app) => void app.get(ASSERTION_JWKS_PATH, (c) => c.json(issuer.jwks(), 200, { 'cache-control': 'max-age=300' })),
    close: opened.close,
  };
}
