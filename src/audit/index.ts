// The audit trail: events, the hash chain and signed digests, sinks, verification and reports.
export type * from './schema.js';
export { SCHEMA_VERSION, DECISION_KINDS, GENESIS_PREV } from './schema.js';
export { createAuditLog, type AuditLog, type AuditLogDeps, type AuditLogStats } from './log.js';
export { buildAuditEvent, FIELD_LIMITS, REDACTED } from './build.js';
export { AuditError, AUDIT_ERRORS, type AuditErrorCode } from './errors.js';
export { createAuditSigner, publishedKeyOf, readPublicKeys, verifyDigestSignature, type AuditSigner } from './signing.js';
export { createStdoutSink, createFileSink, type Durability, type StreamSinkOptions } from './sinks/stream.js';
export { createRedisStreamSink, createAuditRedisClient, FAIL_FAST_REDIS_OPTIONS, DEFAULT_STREAM, type RedisStreamSinkOptions } from './sinks/redis.js';
export type { RecordSink, SinkStats, WhenFull } from './sinks/types.js';
export { verifyTrail, FINDING_SEVERITY, type VerifyReport, type VerifyFinding, type VerifyOptions, type ChainSummary, type FindingCode } from './verify.js';
export { readTrailFile, readTrailStream, splitTrailText, type TrailEntry } from './trail.js';
export { readDecisions, lastAccessed, unusedPermissions, type ActionUse, type UnusedAccess, type PrincipalGrants, type TrailDecision } from './report.js';
export { suggestPolicy, principalMatcher, type Suggestion, type PolicyDocument } from './suggest.js';
export { readAuditConfig, AUDIT_DEFAULTS, AUDIT_SINKS, type AuditConfig, type AuditSinkKind, type ReadAuditOptions } from './config.js';
export { openConfiguredAudit, newInstanceId, GENERATED_KEY_FILE, type AuditSetupDeps, type ConfiguredAudit, type PublicJwk } from './setup.js';
export { stsAuditEvent, policyLoadEvent } from './events.js';
export { registerAuditMetrics } from './metrics.js';
