// The configuration keys whose values are secrets: a problem found with one of them (a wrong type,
// a number a double cannot hold) names the key and what is wrong, never the value, since problems
// are printed by `iamgate validate` and `serve` and so end up in terminals, CI output and logs.

/** JSON paths of secret keys: a Redis URL carries its password, the MFA key decrypts every TOTP seed. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(['redis.url', 'auth.mfa.encryptionKey']);

/** A value as a problem shows it: JSON, or only its kind under a secret key. */
export function shownValue(path: string, v: unknown): string {
  if (!SECRET_KEYS.has(path)) return JSON.stringify(v);
  const kind = Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'a mapping' : `a ${typeof v}`;
  return `${kind}, not shown: the key holds a secret`;
}
