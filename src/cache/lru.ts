// A bounded least-recently-used map with a time to live per entry, on one Map (whose iteration
// order is insertion order: eviction takes the old end, a hit moves its entry to the young end).
// A hit moves the entry only when it has aged past half the capacity since its last move: a hot
// entry is then moved once per maxEntries/2 operations instead of on every hit, and still never
// reaches the old end while it keeps being used.

interface Slot<V> {
  readonly value: V;
  /** Epoch ms at which the entry stops being served. */
  readonly expiresAt: number;
  /** The operation count when the entry was last put at the young end. */
  movedAt: number;
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
  const moveAfter = maxEntries >>> 1;
  let ops = 0;
  return {
    get(key) {
      const slot = slots.get(key);
      if (slot === undefined) return undefined;
      if (slot.expiresAt <= now()) {
        slots.delete(key);
        return undefined;
      }
      ops++;
      if (ops - slot.movedAt > moveAfter) {
        slots.delete(key);
        slots.set(key, slot);
        slot.movedAt = ops;
      }
      return slot.value;
    },
    set(key, value, ttlMs) {
      if (!(ttlMs > 0)) return;
      slots.delete(key);
      slots.set(key, { value, expiresAt: now() + ttlMs, movedAt: ++ops });
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
