// The one reader for every file iamgate reads (configuration, directory, route map, policy test
// suites): typed accessors over an untrusted YAML value. Each checks one key, records a finding
// (file, JSON path, code, reason) when it is wrong, and returns a fallback so checking continues —
// every problem is reported at once, not just the first. Codes come from findings.ts.
import { isIP } from 'node:net';
import { didYouMean } from '../policy/index.js';
import { finding, type Finding, type FindingCode } from './findings.js';
import { shownValue } from './secrets.js';

export type Doc = { readonly [key: string]: unknown };

export function isDoc(v: unknown): v is Doc {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks a CIDR (`10.0.0.0/8`, `fd00::/8`) or a bare address; returns a message when malformed. */
export function checkCidr(text: string): string | undefined {
  const [addr, bits, extra] = text.split('/');
  const family = isIP(addr ?? '');
  if (family === 0 || extra !== undefined) return `"${text}" is not an IP address or CIDR`;
  if (bits === undefined) return undefined;
  const n = Number(bits);
  const max = family === 4 ? 32 : 128;
  return /^\d+$/.test(bits) && n <= max ? undefined : `"${text}" has a prefix length outside 0..${max}`;
}

/** Whether a value counts as not given: absent, or YAML's empty value (`key:` with nothing after it). */
function absent(v: unknown): v is undefined | null {
  return v === undefined || v === null;
}

/** Joins a JSON path and a key (`auth` + `sts` → `auth.sts`; `''` + `version` → `version`). */
export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Collects the findings of one file while its reader walks it. */
export class FileReader {
  readonly findings: Finding[] = [];

  constructor(readonly file: string | undefined) {}

  /** Records a finding; `file` when it belongs to another source (the environment, a file named in this one). */
  add(code: FindingCode, path: string, message: string, file: string | undefined = this.file): void {
    this.findings.push(finding(code, path, message, file));
  }

  /** Records a value that is malformed or out of range (INVALID_VALUE), the most common finding. */
  problem(path: string, message: string, file: string | undefined = this.file): void {
    this.add('INVALID_VALUE', path, message, file);
  }

  /** Adds findings of a nested reader (a section, a policy document), their paths prefixed by where it sits. */
  include(nested: readonly Finding[], prefix = ''): void {
    for (const f of nested) {
      const path = f.path === '' || prefix === '' ? f.path || prefix : f.path.startsWith('[') ? `${prefix}${f.path}` : joinPath(prefix, f.path);
      const file = f.file ?? this.file;
      this.findings.push(file === undefined ? { ...f, path } : { ...f, path, file });
    }
  }

  hasErrors(): boolean {
    return this.findings.some((f) => f.severity === 'error');
  }

  /** `value` as a mapping; anything else but absence is reported. `required` reports absence too. */
  mapping(value: unknown, path: string, required = false, message = 'must be a mapping'): Doc | undefined {
    if (absent(value)) {
      if (required) this.add('MISSING_KEY', path, 'is required');
      return undefined;
    }
    if (isDoc(value)) return value;
    this.add('DATA_TYPE_MISMATCH', path, message);
    return undefined;
  }

  /** A mapping at `path` (or `{}` when absent), with keys outside `known` reported; anything else names the keys it takes. */
  section(parent: Doc, key: string, path: string, known: readonly string[]): Doc {
    const value = this.mapping(parent[key], path, false, `must be a mapping of its keys (${known.join(', ')})`) ?? {};
    this.unknownKeys(value, path, known);
    return value;
  }

  /** Reports every key of `doc` outside `known`, with the near miss when there is one. */
  unknownKeys(doc: Doc, path: string, known: readonly string[]): void {
    for (const k of Object.keys(doc)) {
      if (!known.includes(k)) this.add('UNKNOWN_KEY', joinPath(path, k), `unknown key (expected one of: ${known.join(', ')})${didYouMean(k, known)}`);
    }
  }

  int(doc: Doc, key: string, path: string, fallback: number, min: number, max: number): number {
    const v = doc[key];
    if (absent(v)) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.add(typeof v === 'number' ? 'INVALID_VALUE' : 'DATA_TYPE_MISMATCH', path, `must be an integer from ${min} to ${max} (got ${shownValue(path, v)})`);
      return fallback;
    }
    return v;
  }

  bool(doc: Doc, key: string, path: string, fallback: boolean): boolean {
    const v = doc[key];
    if (absent(v)) return fallback;
    if (typeof v !== 'boolean') {
      this.add('DATA_TYPE_MISMATCH', path, `must be true or false (got ${shownValue(path, v)})`);
      return fallback;
    }
    return v;
  }

  /** A non-empty string, or undefined when absent or wrong (reported). */
  text(doc: Doc, key: string, path: string): string | undefined {
    const v = doc[key];
    if (absent(v)) return undefined;
    if (typeof v !== 'string' || v === '') {
      this.add(typeof v === 'string' ? 'INVALID_VALUE' : 'DATA_TYPE_MISMATCH', path, `must be a non-empty string (got ${shownValue(path, v)})`);
      return undefined;
    }
    return v;
  }

  string(doc: Doc, key: string, path: string, fallback: string): string {
    return this.text(doc, key, path) ?? fallback;
  }

  /** A non-empty list of non-empty strings (a lone string is a list of one), or undefined when absent or wrong. */
  texts(doc: Doc, key: string, path: string): string[] | undefined {
    const v = doc[key];
    if (absent(v)) return undefined;
    const list: unknown = typeof v === 'string' ? [v] : v;
    if (Array.isArray(list) && list.length > 0 && list.every((s) => typeof s === 'string' && s !== '')) return list as string[];
    this.add('DATA_TYPE_MISMATCH', path, 'must be a non-empty list of strings');
    return undefined;
  }

  oneOf<T extends string>(doc: Doc, key: string, path: string, fallback: T, allowed: readonly T[]): T {
    const v = doc[key];
    if (absent(v)) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.problem(path, `must be one of ${allowed.join(', ')} (got ${shownValue(path, v)})`);
      return fallback;
    }
    return v as T;
  }

  cidrs(doc: Doc, key: string, path: string): string[] {
    const v = doc[key];
    if (absent(v)) return [];
    if (!Array.isArray(v)) {
      this.add('DATA_TYPE_MISMATCH', path, 'must be a list of IP addresses or CIDRs');
      return [];
    }
    const out: string[] = [];
    v.forEach((item: unknown, i) => {
      if (typeof item !== 'string') this.add('DATA_TYPE_MISMATCH', `${path}[${i}]`, 'must be a string');
      else {
        const message = checkCidr(item);
        if (message) this.problem(`${path}[${i}]`, message);
        else out.push(item);
      }
    });
    return out;
  }
}

/** Checks an upstream origin URL (`http(s)://host:port`, nothing after the origin); returns a message when wrong. */
export function checkOriginUrl(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `"${text}" is not a URL`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}" must use http or https`;
  if (url.username || url.password) return 'must not carry credentials';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) return `"${text}" must be an origin only (no path, query or fragment)`;
  return undefined;
}

/** `host:port` or `[v6 address]:port` with a port from 1 to 65535; undefined when malformed. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/@[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Checks a Redis URL (`redis://` or `rediss://`); returns a message when wrong. */
export function checkRedisUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'redis:' || url.protocol === 'rediss:' ? undefined : `"${url.protocol}" is not redis: or rediss:`;
  } catch {
    // The text may hold the password: it is not repeated.
    return 'not a URL such as redis://:PASSWORD@HOST:6379/0 (the value is not shown: it may hold a password)';
  }
}
