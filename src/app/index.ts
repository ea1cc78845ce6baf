// The composition root: one typed configuration, and everything built from it.
export { loadConfig, readConfig, type IamgateConfig, type IamgateConfigLoad } from './config.js';
export { createIamgate, type Iamgate, type IamgateDeps, type PrimaryChannel } from './create.js';
export { PUBLIC_KEY_PATH } from './audit.js';
export { redisConfigured, redisFactory, type RedisFactory, type RedisRole } from './redis.js';
export { tokenAuthenticatorFor, type SnapshotAuthenticator } from './snapshot.js';
export { upstreamToProbe, upstreamUnreachable } from './upstream-probe.js';
export { iamgateVersion } from './version.js';
export { configuredSecrets, createLogger } from './logger.js';
export { createTextRedactor } from './log-redaction.js';
