// In-process StateStore for a single instance and for tests. Expiry follows the injected clock, so
// tests can move time forward instead of waiting.
import { raisedTime, storedBefore, type StateStore } from './store.js';

interface Entry {
  value: string;
  /** Epoch ms after which the entry is gone; Infinity when it never expires. */
  expiresAt: number;
}

export interface MemoryStoreOptions {
  readonly now?: () => number;
}

/** Entries the store holds before it first looks for expired ones to drop. */
export const MEMORY_STORE_SWEEP_AT = 1024;

export interface MemoryStateStore extends StateStore {
  /** Values held now, expired ones not yet dropped included. */
  entries(): number;
  /** The values that have not expired, each with its expiry (epoch ms; Infinity for none). */
  liveValues(): Iterable<readonly [key: string, value: string, expiresAt: number]>;
  /** The fields of a hash as they are now, read without a copy or a wait. */
  hashEntries(key: string): Iterable<readonly [field: string, value: string]>;
}

/** Creates a StateStore held in this process's memory (not shared between replicas). */
export function createMemoryStateStore(options: MemoryStoreOptions = {}): MemoryStateStore {
  const now = options.now ?? Date.now;
  const values = new Map<string, Entry>();
  const hashes = new Map<string, Map<string, string>>();

  const live = (key: string): Entry | undefined => {
    const entry = values.get(key);
    if (entry && entry.expiresAt <= now()) {
      values.delete(key);
      return undefined;
    }
    return entry;
  };
  const expiry = (ttlMs: number | undefined): number => (ttlMs === undefined ? Infinity : now() + ttlMs);
  // An expired value is dropped when read, but a key never read again (the replay mark of a past
  // time step, a counter of a caller who went away) would stay for ever. Once the store holds
  // `sweepAt` values every expired one is dropped, and the next sweep waits until it holds twice
  // what is left: never more than twice the live values (or MEMORY_STORE_SWEEP_AT), for O(1)
  // amortised work a write.
  let sweepAt = MEMORY_STORE_SWEEP_AT;
  const put = (key: string, entry: Entry): void => {
    values.set(key, entry);
    if (values.size < sweepAt) return;
    const t = now();
    for (const [k, e] of values) if (e.expiresAt <= t) values.delete(k);
    sweepAt = Math.max(MEMORY_STORE_SWEEP_AT, values.size * 2);
  };

  return {
    shared: false,
    entries: () => values.size,
    *liveValues() {
      const t = now();
      for (const [key, entry] of values) if (entry.expiresAt > t) yield [key, entry.value, entry.expiresAt] as const;
    },
    get: async (key) => live(key)?.value,
    set: async (key, value, ttlMs) => {
      put(key, { value, expiresAt: expiry(ttlMs) });
    },
    setIfAbsent: async (key, value, ttlMs) => {
      if (live(key)) return false;
      put(key, { value, expiresAt: expiry(ttlMs) });
      return true;
    },
    incr: async (key, ttlMs) => {
      const entry = live(key);
      const next = (entry ? Number(entry.value) : 0) + 1;
      put(key, { value: String(next), expiresAt: entry ? entry.expiresAt : expiry(ttlMs) });
      return next;
    },
    del: async (key) => {
      values.delete(key);
      hashes.delete(key);
    },
    hashSet: async (key, field, value) => {
      let hash = hashes.get(key);
      if (!hash) hashes.set(key, (hash = new Map()));
      hash.set(field, value);
    },
    hashGetAll: async (key) => new Map(hashes.get(key) ?? []),
    hashEntries: (key) => hashes.get(key) ?? [],
    hashRaise: async (key, field, value) => {
      let hash = hashes.get(key);
      if (!hash) hashes.set(key, (hash = new Map()));
      const raised = raisedTime(hash.get(field), value, now());
      hash.set(field, raised);
      return raised;
    },
    hashPrune: async (key, before) => {
      const hash = hashes.get(key);
      if (!hash) return 0;
      let removed = 0;
      for (const [field, value] of hash) if (storedBefore(value, before) && hash.delete(field)) removed += 1;
      return removed;
    },
  };
}
