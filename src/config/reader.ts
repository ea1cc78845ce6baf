// A small typed reader over an untrusted YAML value: each accessor checks one key, records a
// problem (file, key, reason) when it is wrong, and returns the default so checking continues —
// every problem is reported at once, not just the first.
import { isIP } from 'node:net';
import { didYouMean } from '../policy/suggest.js';
import type { Finding } from '../policy/types.js';

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

export class ConfigReader {
  readonly problems: Finding[] = [];

  constructor(private readonly file: string | undefined) {}

  problem(path: string, message: string, file: string | undefined = this.file): void {
    this.problems.push(file === undefined ? { severity: 'error', code: 'CONFIG_INVALID', path, message } : { severity: 'error', code: 'CONFIG_INVALID', path, message, file });
  }

  /** A mapping at `path` (or `{}` when absent), with keys outside `known` reported. */
  section(parent: Doc, key: string, path: string, known: readonly string[]): Doc {
    const value = parent[key];
    if (value === undefined || value === null) return {};
    if (!isDoc(value)) {
      this.problem(path, 'must be a mapping');
      return {};
    }
    this.unknownKeys(value, path, known);
    return value;
  }

  unknownKeys(doc: Doc, path: string, known: readonly string[]): void {
    for (const k of Object.keys(doc)) {
      if (!known.includes(k)) this.problem(path ? `${path}.${k}` : k, `unknown key (expected one of: ${known.join(', ')})${didYouMean(k, known)}`);
    }
  }

  int(doc: Doc, key: string, path: string, fallback: number, min: number, max: number): number {
    const v = doc[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.problem(path, `must be an integer from ${min} to ${max} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v;
  }

  bool(doc: Doc, key: string, path: string, fallback: boolean): boolean {
    const v = doc[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') {
      this.problem(path, `must be true or false (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v;
  }

  string(doc: Doc, key: string, path: string, fallback: string): string {
    const v = doc[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || v === '') {
      this.problem(path, `must be a non-empty string (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v;
  }

  oneOf<T extends string>(doc: Doc, key: string, path: string, fallback: T, allowed: readonly T[]): T {
    const v = doc[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.problem(path, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(v)})`);
      return fallback;
    }
    return v as T;
  }

  cidrs(doc: Doc, key: string, path: string): string[] {
    const v = doc[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.problem(path, 'must be a list of IP addresses or CIDRs');
      return [];
    }
    const out: string[] = [];
    v.forEach((item: unknown, i) => {
      const message = typeof item === 'string' ? checkCidr(item) : 'must be a string';
      if (message) this.problem(`${path}[${i}]`, message);
      else out.push(item as string);
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

/** Checks a Redis URL (`redis://` or `rediss://`); returns a message when wrong. */
/** `host:port` or `[v6 address]:port` with a port from 1 to 65535; undefined when malformed. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:/@[\]]+)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

export function checkRedisUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    return url.protocol === 'redis:' || url.protocol === 'rediss:' ? undefined : `"${url.protocol}" is not redis: or rediss:`;
  } catch {
    return 'is not a URL';
  }
}
