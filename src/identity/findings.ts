// The closed set of directory finding codes with their severity. Policy documents inside the
// directory (inline, trust and managed policies) report the policy engine's own codes, with the
// path prefixed by where the document sits in the directory.
import type { Finding, Severity } from '../policy/index.js';

export const DIRECTORY_FINDING_CODES = {
  YAML_SYNTAX_ERROR: 'error',
  DIRECTORY_NOT_OBJECT: 'error',
  UNKNOWN_FIELD: 'error',
  MISSING_FIELD: 'error',
  INVALID_FIELD_TYPE: 'error',
  INVALID_ACCOUNT: 'error',
  INVALID_PARTITION: 'error',
  INVALID_NAME: 'error',
  INVALID_PATH: 'error',
  DUPLICATE_NAME: 'error',
  DUPLICATE_REFERENCE: 'warning',
  DANGLING_GROUP: 'error',
  DANGLING_POLICY: 'error',
  POLICY_SOURCE: 'error',
  POLICY_FILE_UNREADABLE: 'error',
  DIRECTORY_UNREADABLE: 'error',
  TRUST_POLICY_ACTION: 'error',
  TRUST_POLICY_RESOURCE: 'error',
  INVALID_SESSION_DURATION: 'error',
  INVALID_TAG: 'error',
  INVALID_USER_ID: 'error',
} as const satisfies Record<string, Severity>;

export type DirectoryFindingCode = keyof typeof DIRECTORY_FINDING_CODES;

/** Collects findings for one file. */
export class FindingList {
  readonly findings: Finding[] = [];
  constructor(readonly file: string | undefined) {}

  add(code: DirectoryFindingCode, path: string, message: string): void {
    const f: Finding = { severity: DIRECTORY_FINDING_CODES[code], code, path, message };
    this.findings.push(this.file === undefined ? f : { ...f, file: this.file });
  }

  /** Adds a policy document's findings, prefixing their paths with where the document sits. */
  addNested(prefix: string, nested: readonly Finding[]): void {
    for (const f of nested) {
      const path = f.path === '' ? prefix : f.path.startsWith('[') ? `${prefix}${f.path}` : `${prefix}.${f.path}`;
      const file = f.file ?? this.file;
      this.findings.push(file === undefined ? { ...f, path } : { ...f, path, file });
    }
  }

  hasErrors(): boolean {
    return this.findings.some((f) => f.severity === 'error');
  }
}
