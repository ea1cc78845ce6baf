// The request context: condition keys and their values, with key names lower-cased once so that
// every lookup during evaluation is a plain map read (IAM condition key names are case-insensitive).

import type { ContextValue, RequestContext } from './types.js';

/**
 * The global keys a request carries by itself (where, how, when and with what it came), spelt as
 * this context holds every key: lower-case. One spelling for the one writer of their values
 * (`writeRequestKeys` in src/gateway/context.ts) and for whoever reads one back.
 */
export const REQUEST_KEYS = {
  sourceIp: 'aws:sourceip',
  secureTransport: 'aws:securetransport',
  currentTime: 'aws:currenttime',
  epochTime: 'aws:epochtime',
  principalIsAwsService: 'aws:principalisawsservice',
  viaAwsService: 'aws:viaawsservice',
  userAgent: 'aws:useragent',
  referer: 'aws:referer',
} as const;

/** The keys saying whether, and how long ago, the caller presented a second factor, spelt as the context holds them. */
export const MFA_KEYS = {
  present: 'aws:multifactorauthpresent',
  age: 'aws:multifactorauthage',
} as const;

/**
 * The context as it would be had the caller just presented a second factor (present, age 0): a
 * deny that this context turns into an allow is a deny for want of MFA alone (`mfa_required`). The
 * one rule for every decision that says so: a proxied request's, an STS call's, `iamgate test`'s.
 */
export function withFreshMfa(context: RequestContext): RequestContext {
  const stepped = new Map(context);
  stepped.set(MFA_KEYS.present, true);
  stepped.set(MFA_KEYS.age, 0);
  return stepped;
}

/**
 * Keys whose values change from one request to the next by the clock alone. A decision that reads
 * one of them must not be reused for a later request.
 */
export const TIME_VARYING_KEYS: ReadonlySet<string> = new Set([
  REQUEST_KEYS.currentTime,
  REQUEST_KEYS.epochTime,
  MFA_KEYS.age,
  'aws:tokenissuetime',
]);

/**
 * Builds a request context from a record or from key/value pairs, lower-casing key names so that
 * `aws:SourceIp` and `AWS:SOURCEIP` are the same key. When two names differ only by case, the
 * later one wins. Arrays are copied and frozen (an empty array stays a present, empty set);
 * entries whose value is `undefined` (possible from untyped callers) are left out, so the key is
 * missing.
 */
export function createContext(
  entries: Record<string, ContextValue> | Iterable<readonly [string, ContextValue]>,
): RequestContext {
  const pairs: Iterable<readonly [string, ContextValue]> = isIterable(entries) ? entries : Object.entries(entries);
  const context = new Map<string, ContextValue>();
  for (const [key, value] of pairs) {
    if (value === undefined) continue;
    context.set(key.toLowerCase(), Array.isArray(value) ? Object.freeze([...value]) : value);
  }
  return context;
}

/** Whether a value from an untyped source (a cases file, a test suite) is a context value: a string, a finite number, a boolean, or an array of them (a multivalued key). */
export function isContextValue(value: unknown): value is ContextValue {
  return isContextScalar(value) || (Array.isArray(value) && value.every(isContextScalar));
}

function isContextScalar(value: unknown): boolean {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/**
 * The first two names that spell one key differently (condition key names are case-insensitive),
 * or undefined: a context given by hand that names a key twice leaves its value to a guess.
 */
export function sameKeyTwice(names: readonly string[]): readonly [string, string] | undefined {
  const seen = new Map<string, string>();
  for (const name of names) {
    const earlier = seen.get(name.toLowerCase());
    if (earlier !== undefined) return [earlier, name];
    seen.set(name.toLowerCase(), name);
  }
  return undefined;
}

function isIterable(
  value: Record<string, ContextValue> | Iterable<readonly [string, ContextValue]>,
): value is Iterable<readonly [string, ContextValue]> {
  return typeof (value as { [Symbol.iterator]?: unknown })[Symbol.iterator] === 'function';
}
