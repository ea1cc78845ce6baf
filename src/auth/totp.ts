// TOTP second factor (RFC 6238, otplib): enrolment with confirmation, verification within ±1 time
// step, each code accepted once per user across replicas (a set-if-absent mark per time step in the
// shared store), and a per-user limit on failed attempts with a timed lockout. Any doubt denies:
// when the state store cannot answer, no code is accepted; what the store has lost of the marks,
// counters and lockouts this instance wrote, this instance still holds.
import { randomBytes } from 'node:crypto';
import { generateSecret, generateURI, verify } from 'otplib';
import { createAttemptFloor } from './attempt-floor.js';
import type { MfaSecretStore } from './mfa-secrets.js';
import type { SecretBox } from './secret-box.js';
import type { StateStore } from './state/store.js';

const PERIOD_SECONDS = 30;
/** A code can be presented while the clock is within one step of its own: keep its mark 4 steps. */
const REPLAY_MARK_MS = 4 * PERIOD_SECONDS * 1000;
const PENDING_TTL_MS = 10 * 60 * 1000;

export type MfaErrorCode =
  | 'mfa_not_enrolled'
  | 'mfa_already_enrolled'
  | 'mfa_code_invalid'
  | 'mfa_code_replayed'
  | 'mfa_locked'
  | 'mfa_unavailable';

export type MfaFailure = { readonly ok: false; readonly code: MfaErrorCode; readonly retryAfterSeconds?: number };
export type MfaResult<T> = ({ readonly ok: true } & T) | MfaFailure;

export interface LockoutPolicy {
  /** Failed attempts (wrong, malformed or replayed codes) that trigger a lockout. */
  readonly maxFailures: number;
  /** Window in which failures are counted, ms. */
  readonly failureWindowMs: number;
  /** How long a lockout lasts, ms. */
  readonly lockoutMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = { maxFailures: 5, failureWindowMs: 15 * 60_000, lockoutMs: 15 * 60_000 };

export interface TotpDeps {
  readonly state: StateStore;
  readonly secrets: MfaSecretStore;
  readonly box: SecretBox;
  /** Name shown in authenticator apps. */
  readonly issuer: string;
  readonly lockout?: LockoutPolicy;
  readonly now?: () => number;
  /** Told about store failures (which deny as `mfa_unavailable`), for logs. */
  readonly onError?: (err: unknown) => void;
}

export interface Totp {
  /** Starts enrolment: a new secret and its otpauth:// URI, pending until confirmed with a code. */
  enroll(owner: string, label: string): Promise<MfaResult<{ secret: string; uri: string }>>;
  /** Confirms a pending enrolment with a valid code from the new secret. */
  confirm(owner: string, code: string): Promise<MfaResult<{ at: number }>>;
  /** Verifies a code for an enrolled owner; `at` is the verification time (ms). */
  verify(owner: string, code: string): Promise<MfaResult<{ at: number }>>;
  isEnrolled(owner: string): Promise<boolean>;
  /** Removes the owner's secret, pending enrolment and lockout (an administrator's reset). */
  reset(owner: string): Promise<void>;
}

const CODE = /^[0-9]{6}$/;
/** How a lock's end time is written: epoch ms, in decimal. */
const LOCK_UNTIL = /^\d{1,16}(?:\.\d+)?$/;

/** Marks that expire `ttlMs` after they were added, on the injected clock. */
function createLocalMarks(now: () => number, ttlMs: number): { has(mark: string): boolean; add(mark: string): void } {
  // Insertion order is expiry order (one lifetime for all), so expired marks are at the front.
  const expiries = new Map<string, number>();
  const prune = (): void => {
    const t = now();
    for (const [mark, expiresAt] of expiries) {
      if (expiresAt > t) break;
      expiries.delete(mark);
    }
  };
  return {
    has: (mark) => {
      prune();
      return expiries.has(mark);
    },
    add: (mark) => {
      expiries.delete(mark);
      expiries.set(mark, now() + ttlMs);
    },
  };
}

/** Creates the TOTP service over a state store (replay, attempts) and a secret store. */
export function createTotp(deps: TotpDeps): Totp {
  const now = deps.now ?? Date.now;
  const lockout = deps.lockout ?? DEFAULT_LOCKOUT;
  const { state, secrets, box } = deps;
  const keys = {
    pending: (o: string) => `mfa:pending:${o}`,
    used: (o: string, step: number) => `mfa:used:${o}:${step}`,
    failures: (o: string) => `mfa:failures:${o}`,
    lock: (o: string) => `mfa:lock:${o}`,
    cleared: (o: string) => `mfa:cleared:${o}`,
  };

  // The marks of codes this instance accepted, kept here too: a shared mark can be lost (Redis
  // restarted empty, flushed, or the key evicted under maxmemory), and a code must still be refused.
  const usedHere = createLocalMarks(now, REPLAY_MARK_MS);
  // Likewise the failures counted and lockouts set here (attempt-floor.ts): a counter or lock Redis
  // lost must not hand out a fresh set of guesses.
  const floor = createAttemptFloor({ now, windowMs: lockout.failureWindowMs });
  /** A clearing mark lives as long as any floor it could lift. */
  const clearedMs = Math.max(lockout.failureWindowMs, lockout.lockoutMs);

  /** The owner's clearing mark; a floor started under another one was cleared since, and goes. */
  const clearingMark = async (owner: string): Promise<string | undefined> => {
    const mark = await state.get(keys.cleared(owner));
    floor.sync(owner, mark);
    return mark;
  };

  /** Clears the owner's failures everywhere: here, in the store, and (by a new mark) on every other instance. */
  const clearFailures = async (owner: string): Promise<void> => {
    floor.clear(owner);
    await state.del(keys.failures(owner));
    await state.set(keys.cleared(owner), randomBytes(12).toString('hex'), clearedMs);
  };

  /**
   * Writes back a lockout set here that the store has lost, so every instance refuses again. A reset
   * made meanwhile must win: it writes its clearing mark before it removes the lock, so either this
   * reads the new mark after writing and takes the lock away again, or the reset's removal comes
   * after this write. True when the lockout still stands.
   */
  const restoreLock = async (owner: string, mark: string | undefined, until: number): Promise<boolean> => {
    await state.set(keys.lock(owner), String(until), until - now());
    if ((await state.get(keys.cleared(owner))) === mark) return true;
    floor.clear(owner);
    await state.del(keys.lock(owner));
    return false;
  };

  /**
   * Seconds left on a lockout, or 0. The lock's value is its end time, so the injected clock rules;
   * a lock whose value is not a time iamgate wrote (damaged, or another program's) still locks, for
   * a whole lockout from now: it is written again as that time with the lock's expiry, so an
   * unreadable lock never reads as none and never outlasts the lockout it announces. A lockout set
   * here that the store no longer holds (or holds shorter) was lost, not lifted: it still locks,
   * and is written back.
   */
  const lockedFor = async (owner: string, mark: string | undefined): Promise<number> => {
    const value = await state.get(keys.lock(owner));
    if (value !== undefined && !LOCK_UNTIL.test(value)) {
      await state.set(keys.lock(owner), String(now() + lockout.lockoutMs), lockout.lockoutMs);
      return Math.ceil(lockout.lockoutMs / 1000);
    }
    const shared = value === undefined ? 0 : Number(value);
    const here = floor.lockedUntil(owner);
    const until = here > shared && (await restoreLock(owner, mark, here)) ? here : shared;
    const left = until - now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  };

  /** Ends the `attempt`-th failed attempt of the window: at the limit the owner is locked out. */
  const fail = async (owner: string, mark: string | undefined, attempt: number, code: 'mfa_code_invalid' | 'mfa_code_replayed'): Promise<MfaFailure> => {
    if (attempt < lockout.maxFailures) return { ok: false, code };
    floor.lock(owner, now() + lockout.lockoutMs, mark);
    await state.set(keys.lock(owner), String(now() + lockout.lockoutMs), lockout.lockoutMs);
    await state.del(keys.failures(owner));
    return { ok: false, code: 'mfa_locked', retryAfterSeconds: Math.ceil(lockout.lockoutMs / 1000) };
  };

  /** Checks a code against a secret; the matched time step, or undefined. Malformed codes never match. */
  const matchStep = async (secret: string, code: string): Promise<number | undefined> => {
    if (!CODE.test(code)) return undefined;
    const epoch = Math.floor(now() / 1000);
    try {
      const result = await verify({ secret, token: code, epoch, epochTolerance: PERIOD_SECONDS });
      if (!result.valid) return undefined;
      return Math.floor(epoch / PERIOD_SECONDS) + result.delta;
    } catch {
      // otplib throws on malformed tokens and secrets: that is a failed attempt, not an error.
      return undefined;
    }
  };

  /**
   * The shared steps of confirm and verify. The attempt is counted before its code is checked, and
   * the lockout read again after counting (a lockout is set before its counter is cleared), so
   * guesses sent together get no more checks than guesses sent one by one. The count is the store's,
   * or this instance's where the store has lost some. Then the code check, the replay mark, and a
   * success clears the count.
   */
  const check = async (owner: string, mark: string | undefined, code: string, secret: string): Promise<MfaResult<{ at: number }>> => {
    const counted = await state.incr(keys.failures(owner), lockout.failureWindowMs);
    const attempt = Math.max(counted, floor.count(owner, mark));
    const seconds = await lockedFor(owner, mark);
    if (attempt > lockout.maxFailures || seconds > 0) {
      return { ok: false, code: 'mfa_locked', retryAfterSeconds: seconds || Math.ceil(lockout.lockoutMs / 1000) };
    }
    const step = await matchStep(secret, code);
    if (step === undefined) return fail(owner, mark, attempt, 'mfa_code_invalid');
    const used = keys.used(owner, step);
    if (usedHere.has(used) || !(await state.setIfAbsent(used, '1', REPLAY_MARK_MS))) return fail(owner, mark, attempt, 'mfa_code_replayed');
    usedHere.add(used);
    await clearFailures(owner);
    return { ok: true, at: now() };
  };

  const guarded = async <T>(run: () => Promise<MfaResult<T>>): Promise<MfaResult<T>> => {
    try {
      return await run();
    } catch (err) {
      // Redis down, secret file unreadable: no code can be accepted without the shared state.
      deps.onError?.(err);
      return { ok: false, code: 'mfa_unavailable' };
    }
  };

  const locked = async (owner: string, mark: string | undefined): Promise<MfaFailure | undefined> => {
    const seconds = await lockedFor(owner, mark);
    return seconds > 0 ? { ok: false, code: 'mfa_locked', retryAfterSeconds: seconds } : undefined;
  };

  const enrolledSecret = async (owner: string): Promise<string | undefined> => {
    const blob = await secrets.get(owner);
    return blob === undefined ? undefined : box.open(blob, owner);
  };

  return {
    enroll: (owner, label) =>
      guarded(async (): Promise<MfaResult<{ secret: string; uri: string }>> => {
        if ((await secrets.get(owner)) !== undefined) return { ok: false, code: 'mfa_already_enrolled' };
        const secret = generateSecret({ length: 20 });
        await state.set(keys.pending(owner), box.seal(secret, owner), PENDING_TTL_MS);
        return { ok: true, secret, uri: generateURI({ issuer: deps.issuer, label, secret }) };
      }),

    confirm: (owner, code) =>
      guarded(async () => {
        const mark = await clearingMark(owner);
        const lock = await locked(owner, mark);
        if (lock) return lock;
        // A pending secret can outlive an enrolment confirmed meanwhile (an enrolment started before
        // it, on another replica): confirming it would replace the enrolled secret without its code.
        if ((await secrets.get(owner)) !== undefined) {
          await state.del(keys.pending(owner));
          return { ok: false, code: 'mfa_already_enrolled' };
        }
        const blob = await state.get(keys.pending(owner));
        const secret = blob === undefined ? undefined : box.open(blob, owner);
        if (secret === undefined) return { ok: false, code: 'mfa_not_enrolled' };
        const result = await check(owner, mark, code, secret);
        if (!result.ok) return result;
        // Set only if absent: another confirmation may have passed the check above at the same
        // time (another replica or worker, a pending enrolment started meanwhile). The first write
        // enrols; this one must not replace it.
        const enrolled = await secrets.create(owner, box.seal(secret, owner));
        await state.del(keys.pending(owner));
        return enrolled ? result : { ok: false, code: 'mfa_already_enrolled' };
      }),

    verify: (owner, code) =>
      guarded(async () => {
        const mark = await clearingMark(owner);
        const lock = await locked(owner, mark);
        if (lock) return lock;
        const secret = await enrolledSecret(owner);
        if (secret === undefined) return { ok: false, code: 'mfa_not_enrolled' };
        return check(owner, mark, code, secret);
      }),

    isEnrolled: async (owner) => (await secrets.get(owner)) !== undefined,

    reset: async (owner) => {
      // The clearing mark first: an instance writing back a lockout it holds reads it and gives way
      // (restoreLock), or writes before the lock is removed here.
      await clearFailures(owner);
      await secrets.delete(owner);
      await state.del(keys.pending(owner));
      await state.del(keys.lock(owner));
    },
  };
}
