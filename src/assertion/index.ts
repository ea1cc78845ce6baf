export { ASSERTION_DEFAULTS, readAssertionConfig, type AssertionConfig } from './config.js';
export { createAssertionIssuer, type AssertionIssuer } from './issuer.js';
export { openAssertion, ASSERTION_JWKS_PATH, type OpenedAssertion } from './setup.js';
