// StateStore for `serve --workers N` without Redis. The workers are separate processes, so a store
// in each one's memory would let a TOTP code used on one worker be used again on another, give
// each worker its own attempt budget, and keep a revocation made on one worker from the others.
// Instead the state is held once, by the primary process, in the in-process store, and every worker
// reaches it over node:cluster's IPC channel: what one worker records, all see. A call the primary
// does not answer in time fails as StateUnavailableError, so callers fail closed, as with Redis.
import { StateUnavailableError, type StateStore } from './store.js';

/** The StateStore operations a worker asks the primary for. */
export type StateOperation = 'get' | 'set' | 'setIfAbsent' | 'incr' | 'del' | 'hashSet' | 'hashGetAll' | 'hashRaise' | 'hashPrune';

/** One call, as sent to the primary. */
export interface StateRequest {
  readonly iamgateState: number;
  readonly op: StateOperation;
  readonly args: readonly (string | number | null)[];
}

/** The primary's answer to one call: its value (a hash as entries), or why it failed. */
export interface StateReply {
  readonly iamgateState: number;
  readonly value?: string | number | boolean | null | readonly (readonly [string, string])[];
  readonly error?: string;
}

/** A message channel to the primary (a worker's `process.send` and `message` events). */
export interface StateChannel {
  send(message: StateRequest): void;
  onMessage(listener: (message: unknown) => void): void;
}

function isReply(m: unknown): m is StateReply {
  return typeof m === 'object' && m !== null && typeof (m as { iamgateState?: unknown }).iamgateState === 'number';
}

/** A StateStore whose every call is answered by the primary's store within `timeoutMs`. */
export function createRelayedStateStore(channel: StateChannel, timeoutMs: number): StateStore {
  let next = 0;
  const pending = new Map<number, { resolve: (r: StateReply) => void; timer: NodeJS.Timeout }>();
  channel.onMessage((m) => {
    if (!isReply(m)) return;
    const call = pending.get(m.iamgateState);
    if (!call) return;
    pending.delete(m.iamgateState);
    clearTimeout(call.timer);
    call.resolve(m);
  });

  const call = (op: StateOperation, ...args: (string | number | undefined)[]): Promise<StateReply['value']> =>
    new Promise((resolve, reject) => {
      const id = ++next;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new StateUnavailableError(`the primary did not answer ${op} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      pending.set(id, {
        timer,
        resolve: (r) => (r.error === undefined ? resolve(r.value) : reject(new StateUnavailableError(`the primary failed ${op}: ${r.error}`))),
      });
      try {
        channel.send({ iamgateState: id, op, args: args.map((a) => a ?? null) });
      } catch (err) {
        pending.delete(id);
        clearTimeout(timer);
        reject(new StateUnavailableError(`cannot reach the primary: ${err instanceof Error ? err.message : String(err)}`, { cause: err }));
      }
    });

  // A reply whose value is not what the operation answers (a counter that is not a whole number, a
  // hash that is not a list of pairs) fails the call like no answer: read as a value it could count
  // no attempts (NaN is never over the limit) or hide a revocation.
  const expect = <T>(op: StateOperation, v: StateReply['value'], ok: (v: StateReply['value']) => v is T & StateReply['value']): T => {
    if (ok(v)) return v;
    throw new StateUnavailableError(`the primary answered ${op} with a value of the wrong kind`);
  };
  const isNothing = (v: StateReply['value']): v is null => v === null;
  const isTextOrNothing = (v: StateReply['value']): v is string | null => v === null || typeof v === 'string';
  const isText = (v: StateReply['value']): v is string => typeof v === 'string';
  const isFlag = (v: StateReply['value']): v is boolean => typeof v === 'boolean';
  const isCount = (v: StateReply['value']): v is number => typeof v === 'number' && Number.isSafeInteger(v);
  const isPairs = (v: StateReply['value']): v is readonly (readonly [string, string])[] =>
    Array.isArray(v) && v.every((e: unknown) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string');

  return {
    // Every worker sees the same state: revocations are refreshed from it, as from Redis.
    shared: true,
    get: async (key) => expect('get', await call('get', key), isTextOrNothing) ?? undefined,
    set: async (key, value, ttlMs) => void expect('set', await call('set', key, value, ttlMs), isNothing),
    setIfAbsent: async (key, value, ttlMs) => expect('setIfAbsent', await call('setIfAbsent', key, value, ttlMs), isFlag),
    incr: async (key, ttlMs) => expect('incr', await call('incr', key, ttlMs), isCount),
    del: async (key) => void expect('del', await call('del', key), isNothing),
    hashSet: async (key, field, value) => void expect('hashSet', await call('hashSet', key, field, value), isNothing),
    hashGetAll: async (key) => new Map(expect('hashGetAll', await call('hashGetAll', key), isPairs)),
    hashRaise: async (key, field, value) => expect('hashRaise', await call('hashRaise', key, field, value), isText),
    hashPrune: async (key, before) => expect('hashPrune', await call('hashPrune', key, before), isCount),
  };
}

const text = (v: unknown): string => (typeof v === 'string' ? v : String(v));
const ms = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** In the primary: runs one worker's call on `store`; undefined when `message` is not a call. */
export async function answerStateRequest(store: StateStore, message: unknown): Promise<StateReply | undefined> {
  if (!isReply(message) || typeof (message as { op?: unknown }).op !== 'string' || !Array.isArray((message as { args?: unknown }).args)) return undefined;
  const { iamgateState: id, op, args } = message as StateRequest;
  const [a, b, c] = args;
  try {
    switch (op) {
      case 'get':
        return { iamgateState: id, value: (await store.get(text(a))) ?? null };
      case 'set':
        await store.set(text(a), text(b), ms(c));
        return { iamgateState: id, value: null };
      case 'setIfAbsent':
        return { iamgateState: id, value: await store.setIfAbsent(text(a), text(b), ms(c)) };
      case 'incr':
        return { iamgateState: id, value: await store.incr(text(a), ms(b) ?? 0) };
      case 'del':
        await store.del(text(a));
        return { iamgateState: id, value: null };
      case 'hashSet':
        await store.hashSet(text(a), text(b), text(c));
        return { iamgateState: id, value: null };
      case 'hashGetAll':
        return { iamgateState: id, value: [...(await store.hashGetAll(text(a)))] };
      case 'hashRaise':
        // A time that is not a number is no time: refused, as the store cannot compare it.
        if (typeof c !== 'number' || !Number.isFinite(c)) return { iamgateState: id, error: 'hashRaise needs a time' };
        return { iamgateState: id, value: await store.hashRaise(text(a), text(b), c) };
      case 'hashPrune':
        if (typeof b !== 'number' || !Number.isFinite(b)) return { iamgateState: id, error: 'hashPrune needs a time' };
        return { iamgateState: id, value: await store.hashPrune(text(a), b) };
      default:
        return { iamgateState: id, error: `unknown operation ${String(op)}` };
    }
  } catch (err) {
    return { iamgateState: id, error: err instanceof Error ? err.message : String(err) };
  }
}
