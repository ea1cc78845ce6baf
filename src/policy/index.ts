// The policy engine's public API: parse and validate, compile, evaluate, explain.
export type * from './types.js';
export { parsePolicy } from './parse.js';
export { compilePolicy, mergePolicies, type CompiledPolicy } from './compile.js';
export { createPolicySetKeysMemo, evaluate, policySetKeys, type PolicySet } from './evaluate.js';
export { createContext, isContextValue, MFA_KEYS, REQUEST_KEYS, sameKeyTwice, TIME_VARYING_KEYS, withFreshMfa } from './context.js';
export { explainDecision, statementLabel } from './explain.js';
export { compileWildcard } from './wildcard.js';
export { closestName, didYouMean } from './suggest.js';
export { describeInexactNumber, givenTwice, isExactLiteral, readJsonText, type JsonSyntaxError, type JsonTextResult } from './validate/json-text.js';
export { POLICY_FINDING_CODES } from './validate/findings.js';
