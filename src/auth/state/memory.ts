// In-process StateStore for a single instance and for tests. Expiry follows the injected clock, so
// tests can move time forward instead of waiting.
import { raisedTime, type StateStore } from './store.js';

interface Entry {
  value: string;
  /** Epoch ms after which the entry is gone; Infinity when it never expires. */
  expiresAt: number;
}

export interface MemoryStoreOptions {
  readonly now?: () => number;
}

/** Creates a StateStore held in this process's memory (not shared between replicas). */
export function createMemoryStateStore(options: MemoryStoreOptions = {}): StateStore {
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

  return {
    shared: false,
    get: async (key) => live(key)?.value,
    set: async (key, value, ttlMs) => {
      values.set(key, { value, expiresAt: expiry(ttlMs) });
    },
    setIfAbsent: async (key, value, ttlMs) => {
      if (live(key)) return false;
      values.set(key, { value, expiresAt: expiry(ttlMs) });
      return true;
    },
    incr: async (key, ttlMs) => {
      const entry = live(key);
      const next = (entry ? Number(entry.value) : 0) + 1;
      values.set(key, { value: String(next), expiresAt: entry ? entry.expiresAt : expiry(ttlMs) });
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
    hashRaise: async (key, field, value) => {
      let hash = hashes.get(key);
      if (!hash) hashes.set(key, (hash = new Map()));
      const raised = raisedTime(hash.get(field), value, now());
      hash.set(field, raised);
      return raised;
    },
  };
}
