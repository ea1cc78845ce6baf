// A bounded least-recently-used map with a time to live per entry, on one Map (whose iteration
// order is insertion order: a hit re-inserts its entry at the young end, eviction takes the old end).

interface Slot<V> {
  readonly value: V;
  /** Epoch ms at which the entry stops being served. */
  readonly expiresAt: number;
}

export interface Lru<V> {
  /** The live value for a key (refreshing its recency), or undefined. */
  get(key: string): V | undefined;
  /** Stores a value for `ttlMs`, evicting the least recently used entry when full. */
  set(key: string, value: V, ttlMs: number): void;
  delete(key: string): void;
  clear(): void;
  readonly size: number;
}

export interface LruOptions {
  readonly maxEntries: number;
  readonly now: () => number;
}

/** Creates an empty LRU; `maxEntries` must be at least 1. */
export function createLru<V>(options: LruOptions): Lru<V> {
  const { maxEntries, now } = options;
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('maxEntries must be a positive integer');
  const slots = new Map<string, Slot<V>>();
  return {
    get(key) {
      const slot = slots.get(key);
      if (slot === undefined) return undefined;
      slots.delete(key);
      if (slot.expiresAt <= now()) return undefined;
      slots.set(key, slot);
      return slot.value;
    },
    set(key, value, ttlMs) {
      if (!(ttlMs > 0)) return;
      slots.delete(key);
      slots.set(key, { value, expiresAt: now() + ttlMs });
      if (slots.size > maxEntries) {
        const oldest = slots.keys().next();
        if (!oldest.done) slots.delete(oldest.value);
      }
    },
    delete(key) {
      slots.delete(key);
    },
    clear() {
      slots.clear();
    },
    get size() {
      return slots.size;
    },
  };
}
