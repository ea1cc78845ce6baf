// The StateStore a `serve --workers` worker uses without Redis: each call is answered by the
// primary's in-process store; a primary that does not answer fails the call closed.
import { describe, expect, it } from 'vitest';
import { createRelayedStateStore, StateUnavailableError, type StateChannel } from '../../src/auth/index.js';
import { primaryFor } from './helpers.js';

describe('the state a worker reaches through the primary', () => {
  it('is one state for every worker: a replay mark, a counter and a revocation set by one are seen by the other', async () => {
    const channel = primaryFor();
    const a = createRelayedStateStore(channel(), 1000);
    const b = createRelayedStateStore(channel(), 1000);
    expect(await a.setIfAbsent('totp:used:alice:123456', '1', 60_000)).toBe(true);
    expect(await b.setIfAbsent('totp:used:alice:123456', '1', 60_000)).toBe(false);
    expect([await a.incr('fails:alice', 60_000), await b.incr('fails:alice', 60_000)]).toEqual([1, 2]);
    await a.hashSet('revocations', 'arn:aws:iam::111122223333:user/alice', '1700000000000');
    expect(await b.hashGetAll('revocations')).toEqual(new Map([['arn:aws:iam::111122223333:user/alice', '1700000000000']]));
    await b.set('mfa:secret:alice', 'sealed');
    expect(await a.get('mfa:secret:alice')).toBe('sealed');
    await a.del('mfa:secret:alice');
    expect(await b.get('mfa:secret:alice')).toBeUndefined();
    expect(a.shared).toBe(true);
  });

  it('fails closed when the primary does not answer', async () => {
    const silent: StateChannel = { send: () => undefined, onMessage: () => undefined };
    const store = createRelayedStateStore(silent, 50);
    await expect(store.setIfAbsent('totp:used:alice:123456', '1', 60_000)).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it('fails closed when the primary answers a call with a value of the wrong kind', async () => {
    // A primary that answers every call, but with a value no operation answers with.
    const garbled = (value: unknown): StateChannel => {
      const listeners: ((m: unknown) => void)[] = [];
      return {
        send: (message) => void setImmediate(() => listeners.forEach((l) => l({ iamgateState: message.iamgateState, value }))),
        onMessage: (listener) => void listeners.push(listener),
      };
    };
    for (const value of [undefined, 'many', 1.5, Number.NaN, { length: 2 }, [['arn', 1]]]) {
      const store = createRelayedStateStore(garbled(value), 1000);
      await expect(store.incr('fails:alice', 60_000), String(value)).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(store.setIfAbsent('totp:used:alice:1', '1', 60_000)).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(store.hashGetAll('revocations')).rejects.toBeInstanceOf(StateUnavailableError);
      if (typeof value !== 'string') await expect(store.get('mfa:secret:alice')).rejects.toBeInstanceOf(StateUnavailableError);
      await expect(store.set('mfa:secret:alice', 'sealed')).rejects.toBeInstanceOf(StateUnavailableError);
    }
  });
});
