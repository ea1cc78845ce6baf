// The in-process state store with its state kept in files, for an instance without Redis. Held in
// memory alone, it was forgotten when iamgate restarted: a session revoked with RevokeSessions was
// honoured again until its exp, a TOTP code already used could be used again within its window,
// and a guesser got a fresh set of guesses, locked out or not. The hashes (the revocations) go to
// one file, the values with their expiries (TOTP replay marks, failed-attempt counters, lockouts,
// clearing marks, pending enrolments) to another, each written (durable-file.ts) before the change
// resolves: a write that fails fails the call, so nothing is acknowledged that a restart would
// lose. A file that cannot be read refuses the start rather than starting with nothing.
//
// Values are written as they stand, so expired ones leave the file with the next write. The file
// holds at most `maxValues` of them: beyond that the ones that expire first are left out (this
// process still holds them), so a flood of attempts cannot grow it without end.
import { createDurableFile, readDurableFile } from './durable-file.js';
import { createMemoryStateStore } from './memory.js';
import type { StateStore } from './store.js';

/** The hashes file: each hash by its key, each a map of fields to values. */
type HashesFile = Record<string, Record<string, string>>;
/** The values file: each value by its key, with its expiry (epoch ms; null for none). */
type ValuesFile = Record<string, { value: string; expiresAt: number | null }>;

/** Values the file holds at most by default: far more than fail or sign in within a lockout. */
export const DURABLE_MAX_VALUES = 10_000;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function hashesOf(file: string, parsed: unknown): HashesFile {
  if (parsed === undefined) return {};
  if (!isObject(parsed) || !Object.values(parsed).every((h) => isObject(h) && Object.values(h).every((v) => typeof v === 'string'))) {
    throw new TypeError(`${file}: not the state iamgate writes (an object of hashes of strings)`);
  }
  return parsed as HashesFile;
}

function valuesOf(file: string, parsed: unknown): ValuesFile {
  if (parsed === undefined) return {};
  const isValue = (v: unknown): boolean =>
    isObject(v) && typeof v['value'] === 'string' && (v['expiresAt'] === null || (typeof v['expiresAt'] === 'number' && Number.isFinite(v['expiresAt'])));
  if (!isObject(parsed) || !Object.values(parsed).every(isValue)) {
    throw new TypeError(`${file}: not the state iamgate writes (an object of values with their expiries)`);
  }
  return parsed as ValuesFile;
}

export interface DurableStateFiles {
  /** Where the hashes (session revocations) are kept. */
  readonly hashes: string;
  /** Where the values with expiries (TOTP marks, counters, lockouts) are kept. */
  readonly values: string;
}

export interface DurableStateOptions {
  readonly now?: () => number;
  /** Values the values file holds at most (DURABLE_MAX_VALUES). */
  readonly maxValues?: number;
}

/**
 * Opens the in-process store with the state `files` hold (none where a file does not exist yet),
 * and writes each change back before it resolves. Throws when a file cannot be read or parsed.
 */
export async function openDurableStateStore(files: DurableStateFiles, options: DurableStateOptions = {}): Promise<StateStore> {
  const now = options.now ?? Date.now;
  const maxValues = options.maxValues ?? DURABLE_MAX_VALUES;
  const memory = createMemoryStateStore({ now });
  const loadedHashes = hashesOf(files.hashes, await readDurableFile(files.hashes));
  const loadedValues = valuesOf(files.values, await readDurableFile(files.values));
  const keys = new Set<string>();
  for (const [key, fields] of Object.entries(loadedHashes)) {
    keys.add(key);
    for (const [field, value] of Object.entries(fields)) await memory.hashSet(key, field, value);
  }
  const t = now();
  for (const [key, { value, expiresAt }] of Object.entries(loadedValues)) {
    if (expiresAt === null) await memory.set(key, value);
    else if (expiresAt > t) await memory.set(key, value, expiresAt - t);
  }

  const hashesFile = createDurableFile(files.hashes);
  const valuesFile = createDurableFile(files.values);
  // Plain objects with null prototypes: a key or field named __proto__ is kept as any other.
  const hashes = async (): Promise<void> =>
    hashesFile.write(() => {
      const data = Object.create(null) as HashesFile;
      for (const key of keys) data[key] = Object.assign(Object.create(null) as Record<string, string>, Object.fromEntries(memory.hashEntries(key)));
      return data;
    });
  const values = async (): Promise<void> =>
    valuesFile.write(() => {
      let live = [...memory.liveValues()];
      if (live.length > maxValues) live = live.sort((a, b) => b[2] - a[2]).slice(0, maxValues);
      const data = Object.create(null) as ValuesFile;
      for (const [key, value, expiresAt] of live) data[key] = { value, expiresAt: Number.isFinite(expiresAt) ? expiresAt : null };
      return data;
    });
  const changed = async <T>(key: string, result: T): Promise<T> => {
    keys.add(key);
    await hashes();
    return result;
  };

  return {
    shared: false,
    get: memory.get,
    hashGetAll: memory.hashGetAll,
    set: async (key, value, ttlMs) => {
      await memory.set(key, value, ttlMs);
      await values();
    },
    setIfAbsent: async (key, value, ttlMs) => {
      const set = await memory.setIfAbsent(key, value, ttlMs);
      if (set) await values();
      return set;
    },
    incr: async (key, ttlMs) => {
      const count = await memory.incr(key, ttlMs);
      await values();
      return count;
    },
    del: async (key) => {
      await memory.del(key);
      await values();
      if (keys.delete(key)) await hashes();
    },
    hashSet: async (key, field, value) => changed(key, await memory.hashSet(key, field, value)),
    hashRaise: async (key, field, value) => changed(key, await memory.hashRaise(key, field, value)),
    hashPrune: async (key, before) => {
      const removed = await memory.hashPrune(key, before);
      return removed > 0 ? changed(key, removed) : removed;
    },
  };
}
