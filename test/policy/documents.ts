// Policy document builders for the validation tests: a well-formed statement to vary one element
// at a time, and the findings reduced to `CODE at PATH`.
import type { Finding } from '../../src/policy/types.js';

export type Doc = Record<string, unknown>;

/** An Allow of s3:GetObject on one bucket, with `extra` elements added or replaced. */
export const allow = (extra: Doc = {}): Doc => ({
  Effect: 'Allow',
  Action: 's3:GetObject',
  Resource: 'arn:aws:s3:::bucket/*',
  ...extra,
});

/** A 2012-10-17 policy of the given statements. */
export const policy = (...statements: Doc[]): Doc => ({ Version: '2012-10-17', Statement: statements });

/** The statement or document without one element. */
export const without = (doc: Doc, key: string): Doc => Object.fromEntries(Object.entries(doc).filter(([k]) => k !== key));

/** `CODE at PATH` for every finding, or `severity CODE at PATH` with `withSeverity`. */
export const located = (findings: readonly Finding[], withSeverity = false): string[] =>
  findings.map((f) => `${withSeverity ? `${f.severity} ` : ''}${f.code} at ${f.path}`);
