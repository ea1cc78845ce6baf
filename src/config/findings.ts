// The one vocabulary of finding codes for every file iamgate reads: the configuration, the
// directory, the route map, policy documents and policy test suites. A finding is a file, a JSON
// path, a code and a message; the same problem has the same code in every file (an unknown key is
// UNKNOWN_KEY whether it sits in iamgate.yaml, directory.yaml, routes.yaml, a policy or a suite).
// Codes are stable: tools and tests match on them; each has one severity.
import { POLICY_FINDING_CODES, type Finding, type Severity } from '../policy/index.js';

export type { Finding };

interface CodeInfo {
  readonly severity: Severity;
  /** What the code means, in one line. */
  readonly title: string;
}

function code(severity: Severity, title: string): CodeInfo {
  return { severity, title };
}

/**
 * Problems any file can have, whatever it describes. UNKNOWN_KEY, DATA_TYPE_MISMATCH and
 * DUPLICATE_KEY belong here too; they are listed once, with the policy language's codes.
 */
const ANY_FILE = {
  FILE_UNREADABLE: code('error', 'A file (the one read, or one it names) cannot be read'),
  YAML_SYNTAX_ERROR: code('error', 'The text is not valid YAML (JSON is a subset)'),
  MISSING_KEY: code('error', 'A required key is absent'),
  INVALID_VALUE: code('error', 'A value has the right type but is malformed or out of range'),
  EXCLUSIVE_KEYS: code('error', 'Of keys that exclude each other, none or more than one is given'),
  DUPLICATE_ENTRY: code('error', 'An entry that must be unique is given twice'),
  LOAD_FAILED: code('error', 'Loading the files failed in a way no finding describes (a fault, not bad input)'),
} as const;

/** The configuration file (`iamgate.yaml`), beyond the problems any file can have. */
const CONFIGURATION = {
  CONFIG_ALGORITHM: code('error', 'A token algorithm is not allowed (asymmetric algorithms only; never none or HMAC)'),
  CONFIG_DEVELOPMENT_ONLY: code('error', 'A setting only a development configuration may use'),
} as const;

/** The directory (`directory.yaml`). */
const DIRECTORY = {
  INVALID_ACCOUNT: code('error', 'The account is not a 12-digit account id'),
  INVALID_PARTITION: code('error', 'The partition is not a partition name such as aws'),
  INVALID_NAME: code('error', 'A user, group, role or policy name has characters IAM does not allow'),
  INVALID_PATH: code('error', 'An IAM path does not start and end with /'),
  DUPLICATE_NAME: code('error', 'Two entries share a name (IAM names are unique regardless of case)'),
  DUPLICATE_REFERENCE: code('warning', 'A list names the same group or policy twice'),
  DANGLING_GROUP: code('error', 'A user is a member of a group the directory does not define'),
  DANGLING_POLICY: code('error', 'A managed policy is attached that the directory does not define'),
  INVALID_SESSION_DURATION: code('error', 'A role\'s maxSessionDuration is outside 900..43200 seconds'),
  INVALID_TAG: code('error', 'A tag key or value is not allowed, or a key is given twice'),
  INVALID_USER_ID: code('error', 'An explicit unique id is not of the form AIDA... or AROA...'),
} as const;

/** The route map (`routes.yaml`). */
const ROUTE_MAP = {
  ROUTE_PATTERN: code('error', 'A route is not "METHOD /path" with valid parameters'),
  ROUTE_ACTION: code('error', 'An action is not "service:ActionName" without wildcards'),
  ROUTE_RESOURCE: code('error', 'A resource template does not make a well-formed ARN'),
  ROUTE_VARIABLE: code('error', 'A resource template uses a variable the route does not capture'),
  ROUTE_CONTEXT_KEY: code('error', 'A context key or its header cannot feed a condition'),
  ROUTE_DUPLICATE: code('error', 'Two routes have the same method and path shape'),
  ROUTE_SERVICE_MISMATCH: code('warning', 'An action is outside the route map\'s service'),
} as const;

/** Files `iamgate validate` reads without knowing their kind yet. */
const VALIDATED_FILES = {
  NO_DOCUMENTS: code('warning', 'A folder holds no file to validate'),
  UNKNOWN_FILE_KIND: code('error', 'What a file holds cannot be told (name it with --kind)'),
} as const;

/** Every finding code, with its severity and title. */
export const FINDING_CODES = {
  ...ANY_FILE,
  ...CONFIGURATION,
  ...DIRECTORY,
  ...ROUTE_MAP,
  ...VALIDATED_FILES,
  ...POLICY_FINDING_CODES,
} as const satisfies Record<string, CodeInfo>;

export type FindingCode = keyof typeof FINDING_CODES;

/** A finding for `code` at `path`, with the code's one severity; `file` when the text came from one. */
export function finding(code: FindingCode, path: string, message: string, file: string | undefined): Finding {
  const { severity } = FINDING_CODES[code];
  return file === undefined ? { severity, code, path, message } : { severity, code, path, message, file };
}

// C0 and C1 controls, DEL, and the line and paragraph separators.
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/**
 * `text` with its control characters written as `\u001b` escapes: a finding quotes what a file
 * holds (a name, a key, a value), and printed raw an escape sequence there could recolour, erase or
 * forge lines of a terminal or a CI log, and a line break would split one problem's line in two.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, unicodeEscape);
}

/** One UTF-16 unit as the `\u001b` escape that JSON and JavaScript read back as the same character. */
export function unicodeEscape(unit: string): string {
  return `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/**
 * A finding as one line, `FILE: severity CODE at PATH: message` (no `at PATH` for the document as a
 * whole): how `validate`, `test`, `diff` and `replay` print findings, so one problem reads the same
 * whichever command found it.
 */
export function formatFinding(f: Finding): string {
  const where = f.path === '' ? '' : ` at ${f.path}`;
  return printable(`${f.file ?? '-'}: ${f.severity} ${f.code}${where}: ${f.message}`);
}
