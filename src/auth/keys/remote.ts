// Verification keys fetched from an issuer's JWKS URL. Keys are cached and refreshed in the
// background; an unknown `kid` triggers at most one fetch per cooldown (successful or not), so a
// flood of made-up `kid`s cannot hammer the identity provider; every fetch has a deadline, so a
// provider that is down or hangs costs a bounded wait, and keys fetched earlier keep working.
//
// jose's createRemoteJWKSet is not used: it refetches on every unknown `kid` while the provider
// is failing (its cooldown starts only on success) and stops serving its cached keys once they
// are older than its cache age and a refetch fails.
import { parseJwkSet, KeyTable, type KeyLookup, type KeySource, type KeySourceStatus } from './jwk.js';

export type FetchLike = (url: string, init: { signal: AbortSignal; redirect: 'manual'; headers: Record<string, string> }) => Promise<{
  status: number;
  body: ReadableStream<Uint8Array> | null;
}>;

export interface RemoteKeySetOptions {
  readonly url: string;
  /** Minimum time between fetches caused by unknown `kid`s, ms (default 30 s). */
  readonly cooldownMs?: number;
  /** Age after which keys are refreshed in the background, ms (default 10 min). */
  readonly refreshMs?: number;
  /**
   * Longest keys are trusted after the last successful fetch, ms (default a day): while the
   * provider cannot be reached the keys held keep verifying, but not for ever, since a key it has
   * retired meanwhile would otherwise stay trusted for as long as it stays unreachable.
   */
  readonly maxStaleMs?: number;
  /** Deadline of one fetch, ms (default 2 s). */
  readonly timeoutMs?: number;
  readonly fetch?: FetchLike;
  readonly now?: () => number;
  /** Told about failed fetches, for logs and metrics. */
  readonly onError?: (err: Error) => void;
}

const MAX_JWKS_BYTES = 512 * 1024;

const defaultFetch: FetchLike = (url, init) => fetch(url, init);

/**
 * The body as UTF-8 text, or undefined as soon as it passes `limit` bytes: the rest is never
 * read (the stream is cancelled, which closes the connection), so a provider answering without
 * end costs at most the limit, not whatever arrives before the fetch deadline.
 */
async function readAtMost(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string | undefined> {
  if (!body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return Buffer.concat(chunks, size).toString('utf8');
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
}

/** Creates a KeySource backed by a JWKS URL. */
export function createRemoteKeySet(options: RemoteKeySetOptions): KeySource & { refresh(): Promise<boolean> } {
  const now = options.now ?? Date.now;
  const doFetch = options.fetch ?? defaultFetch;
  const cooldownMs = options.cooldownMs ?? 30_000;
  const refreshMs = options.refreshMs ?? 600_000;
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxStaleMs = options.maxStaleMs ?? 86_400_000;

  let table: KeyTable | undefined;
  let lastSuccessAt: number | undefined;
  let lastAttemptAt: number | undefined;
  let lastError: string | undefined;
  let inFlight: Promise<boolean> | undefined;

  const load = async (): Promise<void> => {
    const res = await doFetch(options.url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers: { accept: 'application/jwk-set+json, application/json' },
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS ${options.url} answered ${res.status}`);
    }
    const text = await readAtMost(res.body, MAX_JWKS_BYTES);
    if (text === undefined) throw new Error(`JWKS ${options.url} is larger than ${MAX_JWKS_BYTES} bytes`);
    const keys = parseJwkSet(JSON.parse(text));
    if (keys.length === 0) throw new Error(`JWKS ${options.url} holds no usable asymmetric key`);
    table = new KeyTable(keys);
  };

  /** One fetch at a time; true when it succeeded. Failures keep the previous keys. */
  const refresh = (): Promise<boolean> => {
    inFlight ??= (async () => {
      lastAttemptAt = now();
      try {
        await load();
        lastSuccessAt = now();
        lastError = undefined;
        return true;
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err));
        lastError = error.name === 'TimeoutError' ? `JWKS ${options.url} timed out after ${timeoutMs} ms` : error.message;
        options.onError?.(error);
        return false;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  /** The keys held were fetched longer than maxStaleMs ago: not trusted until a fetch succeeds. */
  const stale = (): boolean => lastSuccessAt !== undefined && now() - lastSuccessAt > maxStaleMs;

  const unknown = (kid: string | undefined): KeyLookup =>
    lastError === undefined
      ? { ok: false, code: 'token_key_unknown', detail: `no key ${kid ?? '(without kid)'} in ${options.url}` }
      : { ok: false, code: 'key_unavailable', detail: lastError };

  /** Keys are old and no fetch happened within the cooldown (so a down provider is not hammered). */
  const dueForRefresh = (): boolean =>
    !inFlight &&
    lastSuccessAt !== undefined &&
    now() - lastSuccessAt >= refreshMs &&
    (lastAttemptAt === undefined || now() - lastAttemptAt >= cooldownMs);

  return {
    refresh,
    async getKey(kid, alg) {
      if (!table) {
        // No keys yet: wait for the fetch under way (the first one, at start-up), bounded by its
        // deadline, rather than refusing the requests that arrive while it runs.
        const coolingDown = lastAttemptAt !== undefined && now() - lastAttemptAt < cooldownMs;
        const loaded = inFlight ? await inFlight : !coolingDown && (await refresh());
        if (!loaded) {
          return { ok: false, code: 'key_unavailable', detail: lastError ?? `JWKS ${options.url} not loaded` };
        }
      } else if (dueForRefresh()) {
        // Serve the keys we have and refresh in the background.
        void refresh();
      }
      if (stale()) {
        // Try once more (unless a fetch is under way or one failed within the cooldown).
        if (inFlight) await inFlight;
        else if (lastAttemptAt === undefined || now() - lastAttemptAt >= cooldownMs) await refresh();
        if (stale()) return { ok: false, code: 'key_unavailable', detail: `keys of ${options.url} last fetched more than ${Math.round(maxStaleMs / 1000)} s ago: ${lastError ?? 'no fetch since'}` };
      }
      const current = table;
      if (!current) return unknown(kid);
      const found = await current.find(kid, alg);
      if (found) return { ok: true, ...found };
      if (current.has(kid)) return { ok: false, code: 'token_key_unknown', detail: `key ${kid} does not suit ${alg}` };
      // An unknown kid: wait for a fetch already under way, or start one unless cooling down.
      if (inFlight) await inFlight;
      else if (lastAttemptAt === undefined || now() - lastAttemptAt >= cooldownMs) await refresh();
      const retried = await table?.find(kid, alg);
      return retried ? { ok: true, ...retried } : unknown(kid);
    },
    has(id) {
      // Cached verifications ask this on every request: a good moment to notice old keys. One
      // clock read serves both checks (dueForRefresh and stale, inlined): this is the hot path.
      if (lastSuccessAt !== undefined) {
        const t = now();
        const age = t - lastSuccessAt;
        if (age >= refreshMs && !inFlight && (lastAttemptAt === undefined || t - lastAttemptAt >= cooldownMs)) void refresh();
        if (age > maxStaleMs) return false;
      }
      return table?.holds(id) ?? false;
    },
    status(): KeySourceStatus {
      return {
        ready: table !== undefined,
        keys: table?.size ?? 0,
        ...(lastSuccessAt !== undefined ? { lastSuccessAt } : {}),
        ...(lastError !== undefined ? { lastError } : {}),
      };
    },
  };
}
