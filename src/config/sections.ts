// Configuration sections that other parts of iamgate read. Each part registers a validator for
// its section here; the loader runs it with the others so every problem is listed together.
import { readAssertionConfig } from '../assertion/config.js';
import { readAuditConfig } from '../audit/config.js';
import { readAuthConfig } from '../auth/config.js';
import { readCacheConfig } from '../cache/config.js';
import { readTracingConfig } from '../trace/config.js';
import { readExtAuthzConfig } from '../extauthz/config.js';
import type { Finding } from './findings.js';
import type { Mode } from './schema.js';

/** What a section validator may need to know about the whole configuration. */
export interface SectionContext {
  readonly mode: Mode;
  readonly file: string | undefined;
}

/** Checks a section's value as written; returns its findings, with key paths inside the file (none when it is fine). */
export type SectionValidator = (value: unknown, path: string, context: SectionContext) => readonly Finding[];

// ─── Sections: the part that reads a section registers its reader here. ─────────
export const SECTION_VALIDATORS: Readonly<Record<string, SectionValidator>> = {
  auth: (value, path, context) => readAuthConfig(value, { path, development: context.mode === 'development' }).findings,
  cache: (value, path) => readCacheConfig(value, { path }).findings,
  audit: (value, path, context) => readAuditConfig(value, { path, development: context.mode === 'development' }).findings,
  assertion: (value, path, context) => readAssertionConfig(value, { path, development: context.mode === 'development' }).findings,
  tracing: (value, path) => readTracingConfig(value, { path }).findings,
  extAuthz: (value, path) => readExtAuthzConfig(value, { path }).findings,
};
