// Failed TOTP attempts and lockouts as this instance counted them, kept beside the shared store's: a
// counter or a lock in Redis can be lost (Redis restarted empty, flushed, or the key evicted under
// maxmemory), and losing it must not give a guesser a fresh set of guesses. What this instance
// counted is a floor the shared value cannot go below while its window or lockout lasts.
//
// A floor is lifted only by a clearing the shared store records: a success or an administrator's
// reset writes a new clearing mark (`mfa:cleared:<owner>`, a random token); a floor started under
// another mark was cleared since, on this instance or another. A mark that is missing (lost with the
// counter) clears nothing, so any doubt keeps the floor.

export interface AttemptFloorOptions {
  readonly now: () => number;
  /** Window in which failures are counted, ms (as the shared counter's). */
  readonly windowMs: number;
  /** Owners kept at most; beyond it the one updated longest ago is forgotten (default 10 000). */
  readonly maxOwners?: number;
}

export interface AttemptFloor {
  /** Forgets `owner`'s floor when the store's clearing mark is not the one it started under. */
  sync(owner: string, mark: string | undefined): void;
  /** Counts one attempt of `owner` started under `mark`; the attempts counted here in the window, this one included. */
  count(owner: string, mark: string | undefined): number;
  /** The end of `owner`'s lockout as this instance knows it (epoch ms), or 0. */
  lockedUntil(owner: string): number;
  /** Locks `owner` until `until` (epoch ms) and starts its count again. */
  lock(owner: string, until: number, mark: string | undefined): void;
  /** Forgets `owner` (a success or a reset made here). */
  clear(owner: string): void;
  /** Owners held now (for tests of the bound). */
  size(): number;
}

interface Floor {
  /** The clearing mark the store held when this floor started. */
  readonly mark: string | undefined;
  count: number;
  windowEnd: number;
  lockUntil: number;
}

/** The default bound: far more owners than fail at once, a few hundred kB at most. */
const MAX_OWNERS = 10_000;

/** Creates an empty floor on the injected clock. */
export function createAttemptFloor(options: AttemptFloorOptions): AttemptFloor {
  const { now, windowMs } = options;
  const maxOwners = options.maxOwners ?? MAX_OWNERS;
  // Insertion order is update order: the first entry is the one updated longest ago.
  const floors = new Map<string, Floor>();

  const live = (owner: string): Floor | undefined => {
    const floor = floors.get(owner);
    if (floor && floor.windowEnd <= now() && floor.lockUntil <= now()) {
      floors.delete(owner);
      return undefined;
    }
    return floor;
  };
  const put = (owner: string, floor: Floor): void => {
    floors.delete(owner);
    floors.set(owner, floor);
    for (const [first, oldest] of floors) {
      if (floors.size <= maxOwners && (oldest.windowEnd > now() || oldest.lockUntil > now())) break;
      floors.delete(first);
    }
  };
  const fresh = (mark: string | undefined): Floor => ({ mark, count: 0, windowEnd: now() + windowMs, lockUntil: 0 });

  return {
    sync(owner, mark) {
      const floor = live(owner);
      if (floor && mark !== undefined && mark !== floor.mark) floors.delete(owner);
    },
    count(owner, mark) {
      const floor = live(owner) ?? fresh(mark);
      if (floor.windowEnd <= now()) {
        floor.count = 0;
        floor.windowEnd = now() + windowMs;
      }
      floor.count += 1;
      put(owner, floor);
      return floor.count;
    },
    lockedUntil: (owner) => {
      const until = live(owner)?.lockUntil ?? 0;
      return until > now() ? until : 0;
    },
    lock(owner, until, mark) {
      const floor = live(owner) ?? fresh(mark);
      floor.count = 0;
      floor.lockUntil = until;
      put(owner, floor);
    },
    clear: (owner) => void floors.delete(owner),
    size: () => floors.size,
  };
}
