// The small key-value contract that iamgate's shared security state needs: TOTP replay marks,
// failed-attempt counters and lockouts, encrypted MFA secrets, and session revocations.
// Implemented in memory (one instance) and on Redis (shared by every replica).

export interface StateStore {
  /** True when every replica sees the same state (Redis); false for the in-process store. */
  readonly shared: boolean;
  get(key: string): Promise<string | undefined>;
  /** Sets a value, expiring after `ttlMs` when given. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets a value only if the key is absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** Increments a counter; a counter this call creates expires after `ttlMs`. */
  incr(key: string, ttlMs: number): Promise<number>;
  del(key: string): Promise<void>;
  /** Sets one field of a hash (no expiry). */
  hashSet(key: string, field: string, value: string): Promise<void>;
  hashGetAll(key: string): Promise<ReadonlyMap<string, string>>;
}

/** The store could not answer (Redis down, timed out, or not connected): callers fail closed. */
export class StateUnavailableError extends Error {
  readonly code = 'ERR_STATE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateUnavailableError';
  }
}
