// The small key-value contract that iamgate's shared security state needs: TOTP replay marks,
// failed-attempt counters and lockouts, encrypted MFA secrets, and session revocations.
// Implemented in memory (one instance), on Redis (shared by every replica) and relayed to the
// primary of `serve --workers N`. Every operation is atomic in each of them: where two replicas or
// workers may write the same security state at once, the contract offers the one operation that
// decides between them (set-if-absent, increment, raise), never a read the caller then writes back.

export interface StateStore {
  /** True when every replica sees the same state (Redis); false for the in-process store. */
  readonly shared: boolean;
  get(key: string): Promise<string | undefined>;
  /** Sets a value, expiring after `ttlMs` when given. */
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** Sets a value only if the key is absent (expiring after `ttlMs` when given); true when this call set it. */
  setIfAbsent(key: string, value: string, ttlMs?: number): Promise<boolean>;
  /** Increments a counter; a counter this call creates expires after `ttlMs`. */
  incr(key: string, ttlMs: number): Promise<number>;
  del(key: string): Promise<void>;
  /** Sets one field of a hash (no expiry). */
  hashSet(key: string, field: string, value: string): Promise<void>;
  hashGetAll(key: string): Promise<ReadonlyMap<string, string>>;
  /**
   * Raises one field of a hash (no expiry) to `value`, a time in epoch ms: a field already holding a
   * later time keeps it; one holding anything but a time (STORED_TIME), which reads as later than
   * every time, is replaced by the later of `value` and the store's time now, so that it never
   * lowers below a time already past. Returns the field's value after the call.
   */
  hashRaise(key: string, field: string, value: number): Promise<string>;
  /**
   * Removes, in one step, the fields of a hash holding a time (STORED_TIME) earlier than `before`
   * (epoch ms); a field holding anything else is kept. Returns how many were removed.
   */
  hashPrune(key: string, before: number): Promise<number>;
}

/** A time as iamgate writes it (epoch ms, in decimal): the only text hashRaise compares. */
export const STORED_TIME = /^\d{1,16}(?:\.\d+)?$/;

/**
 * The later of a stored field and `value`. A field that is not a time (damaged, another program's)
 * reads as revoking every session (revocation.ts): it gives way to a time, but never to one before
 * `now`, which would let sessions issued since that time back in.
 */
export function raisedTime(stored: string | undefined, value: number, now: number): string {
  if (stored === undefined) return String(value);
  if (STORED_TIME.test(stored)) return Number(stored) >= value ? stored : String(value);
  return String(Math.max(value, now));
}

/** Whether a stored field is a time (STORED_TIME) earlier than `before`: one hashPrune removes. */
export function storedBefore(stored: string, before: number): boolean {
  return STORED_TIME.test(stored) && Number(stored) < before;
}

/** The store could not answer (Redis down, timed out, or not connected): callers fail closed. */
export class StateUnavailableError extends Error {
  readonly code = 'ERR_STATE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StateUnavailableError';
  }
}
