// A first-in first-out queue with O(1) removal at the head (Array#shift copies on large arrays).

export interface Queue<T> {
  readonly length: number;
  push(item: T): void;
  /** The oldest item, or undefined when empty. */
  peek(): T | undefined;
  shift(): T | undefined;
  /** The n oldest items, left in the queue. */
  head(n: number): T[];
  /** Removes and returns every item. */
  drain(): T[];
}

export function createQueue<T>(): Queue<T> {
  let items: T[] = [];
  let start = 0;
  return {
    get length() {
      return items.length - start;
    },
    push: (item) => void items.push(item),
    peek: () => (start < items.length ? items[start] : undefined),
    shift() {
      if (start >= items.length) return undefined;
      const item = items[start];
      start++;
      if (start > 1024 && start * 2 > items.length) {
        items = items.slice(start);
        start = 0;
      }
      return item;
    },
    head: (n) => items.slice(start, start + n),
    drain() {
      const all = items.slice(start);
      items = [];
      start = 0;
      return all;
    },
  };
}
