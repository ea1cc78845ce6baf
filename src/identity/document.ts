// Reads a directory document (parsed YAML or JSON) into a checked model, reporting every problem
// with its path: unknown or mistyped fields, bad names, duplicate names (IAM names are unique
// regardless of case), references to groups or managed policies that do not exist, and invalid
// inline and trust policies. Managed policies kept in separate files are checked by the loader.
import { FileReader, isDoc, joinPath, type Doc } from '../config/reader.js';
import { parsePolicy, type Finding, type ParsedPolicy } from '../policy/index.js';
import {
  ACCOUNT_ID,
  GROUP_NAME,
  IAM_PATH,
  PARTITION,
  POLICY_NAME,
  ROLE_NAME,
  TAG_KEY,
  TAG_VALUE,
  USER_NAME,
} from './names.js';

/** A policy document as found in the directory, already parsed by the engine (undefined if invalid). */
export interface InlineDocument {
  readonly name: string;
  readonly document: unknown;
  readonly parsed: ParsedPolicy | undefined;
}

export interface ManagedPolicyModel {
  readonly name: string;
  readonly path: string;
  /** File holding the document, relative to the directory file, as written. */
  readonly file?: string;
  /** The document, when given inline (parsed), else filled in by the loader. */
  readonly inline?: InlineDocument;
}

export interface GroupModel {
  readonly name: string;
  readonly path: string;
  readonly policies: readonly string[];
  readonly inline: readonly InlineDocument[];
}

export interface UserModel {
  readonly name: string;
  readonly path: string;
  readonly id?: string;
  readonly groups: readonly string[];
  readonly policies: readonly string[];
  readonly inline: readonly InlineDocument[];
  readonly boundary?: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly mfaRequired: boolean;
}

export interface RoleModel {
  readonly name: string;
  readonly path: string;
  readonly id?: string;
  readonly trust: InlineDocument;
  readonly policies: readonly string[];
  readonly inline: readonly InlineDocument[];
  readonly boundary?: string;
  readonly maxSessionSeconds: number;
  readonly tags: Readonly<Record<string, string>>;
}

export interface DirectoryModel {
  readonly account: string;
  readonly partition: string;
  readonly policies: readonly ManagedPolicyModel[];
  readonly groups: readonly GroupModel[];
  readonly users: readonly UserModel[];
  readonly roles: readonly RoleModel[];
}

export const DEFAULT_MAX_SESSION_SECONDS = 3600;
const MIN_SESSION_SECONDS = 900;
const MAX_SESSION_SECONDS = 43_200;

/** The directory's own readings on top of the shared reader; each reports and returns a usable fallback. */
class DirectoryReader extends FileReader {
  /** A string (possibly empty), or undefined when absent or not a string (reported). */
  str(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') {
      this.add('DATA_TYPE_MISMATCH', path, 'must be a string');
      return undefined;
    }
    return v;
  }

  boolean(v: unknown, path: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') {
      this.add('DATA_TYPE_MISMATCH', path, 'must be true or false');
      return false;
    }
    return v;
  }

  strings(v: unknown, path: string): string[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.add('DATA_TYPE_MISMATCH', path, 'must be a list of strings');
      return [];
    }
    const out: string[] = [];
    v.forEach((item, i) => {
      if (typeof item !== 'string') this.add('DATA_TYPE_MISMATCH', `${path}[${i}]`, 'must be a string');
      else if (out.includes(item)) this.add('DUPLICATE_REFERENCE', `${path}[${i}]`, `"${item}" is listed twice`);
      else out.push(item);
    });
    return out;
  }

  /** An explicit unique id (`AIDA...` for users, `AROA...` for roles), checked for its shape. */
  uniqueId(v: unknown, path: string, prefix: 'AIDA' | 'AROA'): string | undefined {
    const id = this.str(v, path);
    if (id !== undefined && !new RegExp(`^${prefix}[A-Z2-7]{8,60}$`).test(id)) {
      this.add('INVALID_USER_ID', path, `"${id}" is not an IAM unique id (${prefix}...)`);
    }
    return id;
  }

  iamPath(v: unknown, path: string): string {
    const p = this.str(v, path) ?? '/';
    if (!IAM_PATH.test(p)) {
      this.add('INVALID_PATH', path, `"${p}" is not an IAM path: it must start and end with "/", e.g. /engineering/`);
      return '/';
    }
    return p;
  }

  tags(v: unknown, path: string): Record<string, string> {
    const obj = this.mapping(v, path);
    // Entries, made an object by Object.fromEntries: an assignment would drop a tag named __proto__.
    const out: [string, string][] = [];
    if (!obj) return {};
    const seen = new Set<string>();
    for (const [key, raw] of Object.entries(obj)) {
      const value = typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : raw;
      if (!TAG_KEY.test(key) || key.toLowerCase().startsWith('aws:')) {
        this.add('INVALID_TAG', joinPath(path, key), `"${key}" is not a valid tag key (1-128 characters, no "aws:" prefix)`);
      } else if (typeof value !== 'string' || !TAG_VALUE.test(value)) {
        this.add('INVALID_TAG', joinPath(path, key), `the value of tag "${key}" must be a string of at most 256 allowed characters`);
      } else if (seen.has(key.toLowerCase())) {
        this.add('INVALID_TAG', joinPath(path, key), `tag "${key}" is given twice (tag keys are case-insensitive)`);
      } else {
        seen.add(key.toLowerCase());
        out.push([key, value]);
      }
    }
    return Object.fromEntries(out);
  }

  /** Reads `inlinePolicies: {Name: document}` and parses each document with the engine. */
  inline(v: unknown, path: string): InlineDocument[] {
    const obj = this.mapping(v, path);
    if (!obj) return [];
    const out: InlineDocument[] = [];
    for (const [name, document] of Object.entries(obj)) {
      const at = joinPath(path, name);
      if (!POLICY_NAME.test(name)) this.add('INVALID_NAME', at, `"${name}" is not a valid policy name`);
      out.push({ name, document, parsed: this.policy(document, at, 'identity') });
    }
    return out;
  }

  policy(document: unknown, path: string, kind: 'identity' | 'trust'): ParsedPolicy | undefined {
    const { policy, findings } = parsePolicy(document, kind === 'trust' ? { kind: 'resource', trust: true } : { kind });
    this.include(findings, path);
    return policy;
  }
}

/** Reads an `{name: entry}` section, checking names and case-insensitive uniqueness. */
function entries(r: DirectoryReader, root: Doc, section: string, pattern: RegExp): Array<[string, Doc, string]> {
  const obj = r.mapping(root[section], section);
  if (!obj) return [];
  const out: Array<[string, Doc, string]> = [];
  const seen = new Map<string, string>();
  for (const [name, value] of Object.entries(obj)) {
    const path = joinPath(section, name);
    if (!pattern.test(name)) r.add('INVALID_NAME', path, `"${name}" is not a valid name (letters, digits and +=,.@_-)`);
    const prior = seen.get(name.toLowerCase());
    if (prior !== undefined) {
      r.add('DUPLICATE_NAME', path, `"${name}" duplicates "${prior}": IAM names are unique regardless of case`);
      continue;
    }
    seen.set(name.toLowerCase(), name);
    const entry = r.mapping(value ?? {}, path, true);
    if (entry) out.push([name, entry, path]);
  }
  return out;
}

const ROOT_FIELDS = ['version', 'account', 'partition', 'policies', 'groups', 'users', 'roles'];
const POLICY_FIELDS = ['path', 'description', 'file', 'document'];
const GROUP_FIELDS = ['path', 'description', 'policies', 'inlinePolicies'];
const USER_FIELDS = ['path', 'id', 'description', 'groups', 'policies', 'inlinePolicies', 'boundary', 'tags', 'mfaRequired'];
const ROLE_FIELDS = ['path', 'id', 'description', 'trustPolicy', 'policies', 'inlinePolicies', 'boundary', 'maxSessionDuration', 'tags'];

function readAccount(r: DirectoryReader, root: Doc): string {
  const raw = root['account'];
  // A 12-digit number from unquoted YAML is accepted; a leading zero would have been lost, and
  // then the length check fails.
  const account = typeof raw === 'number' && Number.isInteger(raw) ? String(raw) : r.str(raw, 'account');
  if (account === undefined) {
    if (raw === undefined) r.add('MISSING_KEY', 'account', 'account (the 12-digit account id) is required');
    return '000000000000';
  }
  if (!ACCOUNT_ID.test(account)) r.add('INVALID_ACCOUNT', 'account', `"${account}" is not a 12-digit account id (quote it in YAML)`);
  return account;
}

/**
 * Reads and checks a directory document. `model` is undefined when any finding is an error;
 * `draft` is what could be read regardless (so that the loader can still check policy files).
 */
export function readDirectoryDocument(
  doc: unknown,
  file?: string,
): { model: DirectoryModel | undefined; draft: DirectoryModel | undefined; findings: Finding[] } {
  const r = new DirectoryReader(file);
  if (!isDoc(doc)) {
    r.add('DATA_TYPE_MISMATCH', '', 'the directory must be a mapping with account, users, groups, roles and policies');
    return { model: undefined, draft: undefined, findings: r.findings };
  }
  r.unknownKeys(doc, '', ROOT_FIELDS);
  const account = readAccount(r, doc);
  const partition = r.str(doc['partition'], 'partition') ?? 'aws';
  if (!PARTITION.test(partition)) r.add('INVALID_PARTITION', 'partition', `"${partition}" is not a partition name such as aws`);

  const policies: ManagedPolicyModel[] = entries(r, doc, 'policies', POLICY_NAME).map(([name, e, path]) => {
    r.unknownKeys(e, path, POLICY_FIELDS);
    const policyPath = r.iamPath(e['path'], joinPath(path, 'path'));
    const fileRef = r.str(e['file'], joinPath(path, 'file'));
    const hasDocument = e['document'] !== undefined;
    // Whether `file` is given, not whether it is a string: a file of the wrong type is said once, above.
    if ((e['file'] === undefined) === !hasDocument) {
      r.add('EXCLUSIVE_KEYS', path, `policy "${name}" needs exactly one of file (a JSON document beside the directory) or document`);
    }
    const inline = hasDocument
      ? { name, document: e['document'], parsed: r.policy(e['document'], joinPath(path, 'document'), 'identity') }
      : undefined;
    return {
      name,
      path: policyPath,
      ...(fileRef !== undefined ? { file: fileRef } : {}),
      ...(inline ? { inline } : {}),
    };
  });
  const policyNames = new Set(policies.map((p) => p.name));
  // A section that is not a mapping is said once (DATA_TYPE_MISMATCH), not again by every name that refers to it.
  const unreadableSection = (section: string): boolean => doc[section] !== undefined && doc[section] !== null && !isDoc(doc[section]);
  const policyRef = (ref: string, path: string): string | undefined => {
    // Accept a name or this account's policy ARN.
    const arnPrefix = `arn:${partition}:iam::${account}:policy/`;
    const name = ref.startsWith(arnPrefix) ? ref.slice(ref.lastIndexOf('/') + 1) : ref;
    if (policyNames.has(name)) return name;
    if (!unreadableSection('policies')) r.add('DANGLING_POLICY', path, `no managed policy "${ref}" in policies`);
    return undefined;
  };
  const policyRefs = (v: unknown, path: string): string[] =>
    r
      .strings(v, path)
      .map((ref, i) => policyRef(ref, `${path}[${i}]`))
      .filter((n): n is string => n !== undefined);
  const boundaryRef = (v: unknown, path: string): { boundary?: string } => {
    const ref = r.str(v, path);
    const name = ref === undefined ? undefined : policyRef(ref, path);
    return name === undefined ? {} : { boundary: name };
  };

  const groups: GroupModel[] = entries(r, doc, 'groups', GROUP_NAME).map(([name, e, path]) => {
    r.unknownKeys(e, path, GROUP_FIELDS);
    return {
      name,
      path: r.iamPath(e['path'], joinPath(path, 'path')),
      policies: policyRefs(e['policies'], joinPath(path, 'policies')),
      inline: r.inline(e['inlinePolicies'], joinPath(path, 'inlinePolicies')),
    };
  });
  const groupNames = new Set(groups.map((g) => g.name));

  const users: UserModel[] = entries(r, doc, 'users', USER_NAME).map(([name, e, path]) => {
    r.unknownKeys(e, path, USER_FIELDS);
    const memberOf = r.strings(e['groups'], joinPath(path, 'groups'));
    memberOf.forEach((g, i) => {
      if (!groupNames.has(g) && !unreadableSection('groups')) r.add('DANGLING_GROUP', `${joinPath(path, 'groups')}[${i}]`, `no group "${g}" in groups`);
    });
    const id = r.uniqueId(e['id'], joinPath(path, 'id'), 'AIDA');
    return {
      name,
      path: r.iamPath(e['path'], joinPath(path, 'path')),
      ...(id !== undefined ? { id } : {}),
      groups: memberOf.filter((g) => groupNames.has(g)),
      policies: policyRefs(e['policies'], joinPath(path, 'policies')),
      inline: r.inline(e['inlinePolicies'], joinPath(path, 'inlinePolicies')),
      ...boundaryRef(e['boundary'], joinPath(path, 'boundary')),
      tags: r.tags(e['tags'], joinPath(path, 'tags')),
      mfaRequired: r.boolean(e['mfaRequired'], joinPath(path, 'mfaRequired')),
    };
  });

  const roles: RoleModel[] = entries(r, doc, 'roles', ROLE_NAME).map(([name, e, path]) => {
    r.unknownKeys(e, path, ROLE_FIELDS);
    const trustPath = joinPath(path, 'trustPolicy');
    const trustDoc = e['trustPolicy'];
    let trustParsed: ParsedPolicy | undefined;
    if (trustDoc === undefined) {
      r.add('MISSING_KEY', trustPath, `role "${name}" needs a trustPolicy saying who may assume it`);
    } else {
      trustParsed = r.policy(trustDoc, trustPath, 'trust');
    }
    const durationPath = joinPath(path, 'maxSessionDuration');
    const duration = e['maxSessionDuration'] ?? DEFAULT_MAX_SESSION_SECONDS;
    let maxSessionSeconds = DEFAULT_MAX_SESSION_SECONDS;
    if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < MIN_SESSION_SECONDS || duration > MAX_SESSION_SECONDS) {
      r.add('INVALID_SESSION_DURATION', durationPath, `maxSessionDuration must be whole seconds from ${MIN_SESSION_SECONDS} to ${MAX_SESSION_SECONDS}`);
    } else {
      maxSessionSeconds = duration;
    }
    const id = r.uniqueId(e['id'], joinPath(path, 'id'), 'AROA');
    return {
      name,
      path: r.iamPath(e['path'], joinPath(path, 'path')),
      ...(id !== undefined ? { id } : {}),
      trust: { name: 'trust', document: trustDoc, parsed: trustParsed },
      policies: policyRefs(e['policies'], joinPath(path, 'policies')),
      inline: r.inline(e['inlinePolicies'], joinPath(path, 'inlinePolicies')),
      ...boundaryRef(e['boundary'], joinPath(path, 'boundary')),
      maxSessionSeconds,
      tags: r.tags(e['tags'], joinPath(path, 'tags')),
    };
  });

  const draft = { account, partition, policies, groups, users, roles };
  return { model: r.hasErrors() ? undefined : draft, draft, findings: r.findings };
}

/** Checks a directory document (the `iamgate validate` entry for directory files). */
export function validateDirectoryDocument(doc: unknown, file?: string): Finding[] {
  return readDirectoryDocument(doc, file).findings;
}
