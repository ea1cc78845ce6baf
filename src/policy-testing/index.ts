// Policy changes without fear: test suites decided as the gateway would, the access matrix and
// diff between two policy versions, and replaying an audit trail under candidate policies.
export { decideOffline, resolvePrincipal, type OfflineDecision, type OfflineReason, type PrincipalSpec, type RequestSpec } from './decide.js';
export { describeCell, diffAccess, grantsOf, type AccessChange, type AccessDiff } from './diff.js';
export { checkoutRevision, type Checkout } from './git.js';
export { junitReport } from './junit.js';
export { cellFor, matrixColumns, matrixPrincipals, type Access, type Cell, type MatrixColumn, type MatrixPrincipal } from './matrix.js';
export { replayTrail, type ReplayedChange, type ReplayReport } from './replay.js';
export { runCase, runSuites, type CaseResult, type RunSummary } from './run.js';
export { looksLikeSuite, parseSuite, readSuite, readSuiteDocument, suiteFindings, type ExpectedDecision, type SuiteRead, type TestCase, type TestSuite } from './suite.js';
export { formatFinding, loadPolicyWorld, type PolicyWorld, type WorldLoad } from './world.js';
