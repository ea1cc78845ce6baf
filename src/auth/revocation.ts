// Revoking every session of a principal issued before a time, as IAM's "revoke active sessions"
// does. Revocations live in the state store (a Redis hash shared by every replica); each instance
// keeps a snapshot, refreshed every few seconds, so the per-request check is a map lookup. When
// the shared store has been unreachable for longer than `maxStaleMs`, the check answers
// `unavailable` and tokens are refused: a revocation must never be missed by accident.
//
// A revocation matters only while a credential it names can still be honoured: one issued at or
// before its time is honoured at most `retainMs` after it. Older entries are pruned, from the
// snapshot and from the store, so the list holds the revocations of one such span, not all ever made.
//
// An issue time is the issuer's clock, which may run ahead of this instance's by up to the clock
// tolerance its tokens are verified with: a token issued before a revocation can carry an `iat`
// after it. A revocation therefore also refuses credentials issued up to `issuedAheadMs` after its
// time, so a user who signs in again just after being revoked may be refused for that long.
import { STS_CLOCK_TOLERANCE_SECONDS, STS_MAX_SESSION_SECONDS, type AuthConfig } from './config.js';
import { STORED_TIME, type StateStore } from './state/store.js';

const HASH_KEY = 'revocations';

export type RevocationCheck = 'ok' | 'revoked' | 'unavailable';

export interface RevocationStatus {
  readonly entries: number;
  readonly lastRefreshAt?: number;
  readonly lastError?: string;
}

export interface Revocations {
  /**
   * Revokes every session of `subjectArn` (a user, role or role session ARN) issued before `before`
   * (epoch ms), and those whose issue time lies up to `issuedAheadMs` after it.
   */
  revoke(subjectArn: string, before: number): Promise<void>;
  /** Whether a credential of `subjectArn` issued at `issuedAt` (epoch ms) is still honoured. */
  check(subjectArn: string, issuedAt: number): RevocationCheck;
  /** Whether a principal's credential is still honoured: revoked when its own ARN or its role's is. */
  checkPrincipal(principal: RevokedPrincipal): RevocationCheck;
  /** Reloads the snapshot from the store; true when it succeeded. */
  refresh(): Promise<boolean>;
  /** Starts periodic refreshes (an unref'd timer). */
  start(): void;
  close(): void;
  status(): RevocationStatus;
}

/** What a revocation check reads of a principal. */
export interface RevokedPrincipal {
  readonly arn: string;
  readonly roleArn?: string | undefined;
  readonly issuedAt: number;
}

export interface RevocationOptions {
  readonly store: StateStore;
  readonly now?: () => number;
  readonly refreshMs?: number;
  readonly maxStaleMs?: number;
  readonly onError?: (err: unknown) => void;
  /**
   * Told of every revocation this instance learns of (its own, or another replica's read from the
   * store): sessions of `subjectArn` issued at or before `before` are revoked (`issuedAheadMs`
   * already added). Open WebSocket tunnels are closed from here.
   */
  readonly onRevoked?: (subjectArn: string, before: number) => void;
  /**
   * Longest a credential is honoured after its issue time (ms), so how long after its time a
   * revocation can still refuse one (revocationRetainMs); older entries are pruned. Default: never.
   */
  readonly retainMs?: number;
  /**
   * How far a credential's issue time may lie ahead of this instance's clock (revocationToleranceMs):
   * a revocation also refuses credentials issued up to this long after its time. Default 0.
   */
  readonly issuedAheadMs?: number;
}

/**
 * Kept on top of the longest credential lifetime before a revocation is pruned: the clock
 * tolerance a verifier allows (at most 300 s) and the drift between replicas' clocks.
 */
export const REVOCATION_MARGIN_MS = 15 * 60_000;

/**
 * How long after its time a revocation can still refuse a credential (RevocationOptions.retainMs):
 * the longest any trusted issuer's token is honoured after its `iat` (`maxTokenAgeSeconds` and its
 * clock tolerance) and, with the STS on, the longest session it can issue under any configuration
 * (a token issued before a configuration lowered the bound still lives to its `exp`), plus
 * REVOCATION_MARGIN_MS. An issuer without a maximum age keeps every revocation (Infinity).
 */
export function revocationRetainMs(config: Pick<AuthConfig, 'issuers' | 'sts'>): number {
  let longest = config.sts.enabled ? STS_MAX_SESSION_SECONDS : 0;
  for (const issuer of config.issuers) longest = Math.max(longest, (issuer.maxTokenAgeSeconds ?? Infinity) + issuer.clockToleranceSeconds);
  return longest * 1000 + REVOCATION_MARGIN_MS;
}

/**
 * How far ahead of this instance's clock a credential's issue time may lie (RevocationOptions.
 * issuedAheadMs): the largest clock tolerance any trusted issuer's tokens are verified with and,
 * with the STS on, its session tokens'. One bound for all, so the per-request check reads no issuer.
 */
export function revocationToleranceMs(config: Pick<AuthConfig, 'issuers' | 'sts'>): number {
  let seconds = config.sts.enabled ? STS_CLOCK_TOLERANCE_SECONDS : 0;
  for (const issuer of config.issuers) seconds = Math.max(seconds, issuer.clockToleranceSeconds);
  return seconds * 1000;
}

/** Creates the revocation list over a state store. */
export function createRevocations(options: RevocationOptions): Revocations {
  const { store } = options;
  const now = options.now ?? Date.now;
  const refreshMs = options.refreshMs ?? 1000;
  const maxStaleMs = options.maxStaleMs ?? 60_000;
  const retainMs = options.retainMs ?? Infinity;
  const aheadMs = options.issuedAheadMs ?? 0;
  let snapshot = new Map<string, number>();
  let lastRefreshAt: number | undefined;
  let lastError: string | undefined;
  let timer: NodeJS.Timeout | undefined;

  /**
   * Revocations are never lifted, so one this instance knew and the store no longer holds (Redis
   * restarted empty, flushed, or the hash evicted) was lost, not withdrawn: it stays in `next` and
   * is written back, so a revoked session never comes back to life and instances started later
   * learn it again. Entries read as damaged (Infinity) were never times iamgate wrote: not kept.
   */
  const keepKnown = async (previous: ReadonlyMap<string, number>, next: Map<string, number>, cutoff: number): Promise<void> => {
    for (const [arn, before] of previous) {
      if (!Number.isFinite(before) || before < cutoff || (next.get(arn) ?? -Infinity) >= before) continue;
      next.set(arn, before);
      await store.hashSet(HASH_KEY, arn, String(before));
    }
  };

  /** Revocations with a time before this no longer name a credential that can be honoured. */
  const cutoff = (): number => now() - retainMs;

  /**
   * Removes from the store every revocation older than `before`, in one step that never removes one
   * another replica has just raised. A failure only leaves them for the next prune: told, not thrown.
   */
  const pruneStore = async (before: number): Promise<void> => {
    if (!Number.isFinite(before)) return;
    try {
      await store.hashPrune(HASH_KEY, before);
    } catch (err) {
      options.onError?.(err);
    }
  };

  const refresh = async (): Promise<boolean> => {
    try {
      const all = await store.hashGetAll(HASH_KEY);
      const next = new Map<string, number>();
      const oldest = cutoff();
      let expired = false;
      for (const [arn, value] of all) {
        // A value iamgate did not write (damaged, or another program's) revokes every session of its
        // subject until it is written again: an unreadable revocation must never read as none.
        const before = STORED_TIME.test(value) ? Number(value) : Infinity;
        if (before < oldest) expired = true;
        else next.set(arn, before);
      }
      await keepKnown(snapshot, next, oldest);
      // The list as it is now, after the awaits: a revocation this instance made meanwhile is in the
      // store already, and stays in the list (it was announced as it was made).
      const current = snapshot;
      for (const [arn, before] of current) if (Number.isFinite(before) && before >= oldest && (next.get(arn) ?? -Infinity) < before) next.set(arn, before);
      snapshot = next;
      lastRefreshAt = now();
      lastError = undefined;
      if (options.onRevoked) for (const [arn, before] of next) if (before > (current.get(arn) ?? -Infinity)) options.onRevoked(arn, before + aheadMs);
      // After the swap, so a revocation made while the store prunes lands in the new list.
      if (expired) await pruneStore(oldest);
      return true;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
      options.onError?.(err);
      return false;
    }
  };

  const stale = (): boolean => store.shared && (lastRefreshAt === undefined || now() - lastRefreshAt > maxStaleMs);
  const revokedNow = (subjectArn: string, issuedAt: number): boolean => {
    const before = snapshot.get(subjectArn);
    // Token times have whole seconds: a session issued in the second of the revocation is revoked too.
    // An issuer's clock may run ahead of this one's by aheadMs: a session it dated that much later may
    // have been issued before the revocation.
    return before !== undefined && issuedAt <= before + aheadMs;
  };

  return {
    async revoke(subjectArn, before) {
      // Raised in the store in one step, never written from this instance's list: that list may be
      // behind a later revocation another replica or worker has just made, which must stand. A
      // damaged entry reads as revoking everything (Infinity): the store replaces it with a time no
      // earlier than its own now, rather than keeping text that would read as damaged again on
      // every refresh.
      const value = Number(await store.hashRaise(HASH_KEY, subjectArn, before));
      // Pruned here too: an in-process store has no periodic refresh to do it.
      const oldest = cutoff();
      const next = new Map<string, number>();
      for (const [arn, known] of snapshot) if (!(known < oldest)) next.set(arn, known);
      const pruned = next.size < snapshot.size;
      snapshot = next.set(subjectArn, value);
      options.onRevoked?.(subjectArn, value + aheadMs);
      if (pruned) await pruneStore(oldest);
    },
    check(subjectArn, issuedAt) {
      if (stale()) return 'unavailable';
      return revokedNow(subjectArn, issuedAt) ? 'revoked' : 'ok';
    },
    checkPrincipal(p) {
      if (stale()) return 'unavailable';
      // No array per request: the one or two names a credential answers to (revocationSubjects).
      return revokedNow(p.arn, p.issuedAt) || (p.roleArn !== undefined && revokedNow(p.roleArn, p.issuedAt)) ? 'revoked' : 'ok';
    },
    refresh,
    start() {
      if (timer || !store.shared) return;
      timer = setInterval(() => void refresh(), refreshMs);
      timer.unref();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
    status: () => ({
      entries: snapshot.size,
      ...(lastRefreshAt !== undefined ? { lastRefreshAt } : {}),
      ...(lastError !== undefined ? { lastError } : {}),
    }),
  };
}
