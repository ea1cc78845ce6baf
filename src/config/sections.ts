// Configuration sections that other parts of iamgate read. Each part registers a validator for
// its section here; the loader runs it with the others so every problem is listed together.
import { readAssertionConfig } from '../assertion/config.js';
import { readAuditConfig } from '../audit/config.js';
import { readAuthConfig } from '../auth/config.js';
import { checkCacheSection } from '../cache/index.js';
import { readTracingConfig } from '../trace/config.js';
import { checkExtAuthzSection } from '../extauthz/config.js';
import type { Mode } from './schema.js';

/** One problem in a section: the key path inside the file (`auth.issuers[0].jwksUrl`) and why. */
export interface SectionProblem {
  readonly path: string;
  readonly message: string;
}

/** What a section validator may need to know about the whole configuration. */
export interface SectionContext {
  readonly mode: Mode;
  readonly file: string | undefined;
}

/** Checks a section's value as written; returns its problems (none when it is fine). */
export type SectionValidator = (value: unknown, path: string, context: SectionContext) => readonly SectionProblem[];

const mapping: SectionValidator = (value, path) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? [] : [{ path, message: 'must be a mapping' }];

const auth: SectionValidator = (value, path, context) =>
  readAuthConfig(value, { path, development: context.mode === 'development' }).findings.map((f) => ({ path: f.path, message: f.message }));

const audit: SectionValidator = (value, path, context) =>
  readAuditConfig(value, { path, development: context.mode === 'development' }).findings.map((f) => ({ path: f.path, message: f.message }));

const assertion: SectionValidator = (value, path, context) =>
  readAssertionConfig(value, { path, development: context.mode === 'development' }).findings.map((f) => ({ path: f.path, message: f.message }));

const tracing: SectionValidator = (value, path) => readTracingConfig(value, { path }).findings.map((f) => ({ path: f.path, message: f.message }));

// ─── Sections: the part that reads a section replaces `mapping` with its own validator. ─────────
export const SECTION_VALIDATORS: Readonly<Record<string, SectionValidator>> = {
  auth,
  cache: checkCacheSection,
  audit,
  assertion,
  tracing,
  extAuthz: checkExtAuthzSection,
};
