// The policy engine's public API: parse and validate, compile, evaluate, explain.
export type * from './types.js';
export { parsePolicy } from './parse.js';
export { compilePolicy, mergePolicies, type CompiledPolicy } from './compile.js';
export { createPolicySetKeysMemo, evaluate, policySetKeys, type PolicySet } from './evaluate.js';
export { createContext, TIME_VARYING_KEYS } from './context.js';
export { explainDecision } from './explain.js';
