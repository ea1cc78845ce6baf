// Configuration sections that other parts of iamgate read. Each part registers a validator for
// its section here; the loader runs it with the others so every problem is listed together.
import { validateAuthSection } from '../auth/config.js';

/** One problem in a section: the key path inside the file (`auth.issuers[0].jwksUrl`) and why. */
export interface SectionProblem {
  readonly path: string;
  readonly message: string;
}

/** Checks a section's value as written; returns its problems (none when it is fine). */
export type SectionValidator = (value: unknown, path: string) => readonly SectionProblem[];

const mapping: SectionValidator = (value, path) =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? [] : [{ path, message: 'must be a mapping' }];

// ─── Sections: the part that reads a section replaces `mapping` with its own validator. ─────────
export const SECTION_VALIDATORS: Readonly<Record<string, SectionValidator>> = {
  auth: validateAuthSection,
  mfa: mapping,
  sts: mapping,
  cache: mapping,
  audit: mapping,
};
