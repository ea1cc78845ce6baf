// Security state written by two instances at once (two replicas on one redis-server, two workers of
// `serve --workers N` through their primary, two processes on one MFA secrets file): an MFA
// enrolment is confirmed once, whichever confirm comes first, and a revocation is never lowered by
// an instance whose list was behind. The races are made to happen: the secret writes of every
// confirm are held until all of them have got that far.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createMemoryStateStore,
  createRedisStateStore,
  createRelayedStateStore,
  createRevocations,
  createSecretBox,
  createTotp,
  fileSecretStore,
  stateSecretStore,
  type MfaSecretStore,
  type StateStore,
  type Totp,
} from '../../src/auth/index.js';
import { primaryFor, redisForSuite, testClock, TOTP_USER, totpCodeAt } from './helpers.js';

const USER = TOTP_USER;
const box = createSecretBox(randomBytes(32));
const code = totpCodeAt;

/** Two instances' views of one state and one secret store. */
interface Pair {
  readonly states: readonly [StateStore, StateStore];
  readonly secrets: readonly [MfaSecretStore, MfaSecretStore];
}

/** Holds every write through the secret stores it wraps until `count` writes have arrived. */
function writeBarrier(count: number): { hold(store: MfaSecretStore): MfaSecretStore; arrived(): number } {
  let arrived = 0;
  let release: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (release = resolve));
  const held = <A extends unknown[], R>(write: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      if (++arrived >= count) release();
      await all;
      return write(...args);
    };
  return {
    arrived: () => arrived,
    hold: (store) => {
      // Every method but the reads and the reset is a write of an enrolled secret.
      const wrapped: Record<string, unknown> = {};
      for (const [name, method] of Object.entries(store) as [string, (...args: unknown[]) => Promise<unknown>][]) {
        wrapped[name] = name === 'get' || name === 'delete' ? method : held(method);
      }
      return wrapped as unknown as MfaSecretStore;
    },
  };
}

function contract(name: string, makePair: () => Promise<Pair>): void {
  describe(`security state shared by two instances (${name})`, () => {
    /** Two instances' TOTP, whose secret writes wait until `writes` have arrived, and USER's first pending enrolment. */
    const enrolling = async (writes: number) => {
      const clock = testClock();
      const pair = await makePair();
      const barrier = writeBarrier(writes);
      const [a, b] = [0, 1].map((i) =>
        createTotp({
          state: pair.states[i as 0 | 1],
          secrets: barrier.hold(pair.secrets[i as 0 | 1]),
          box,
          issuer: 'iamgate-test',
          lockout: { maxFailures: 5, failureWindowMs: 60_000, lockoutMs: 300_000 },
          now: clock.now,
        }),
      ) as [Totp, Totp];
      const first = await a.enroll(USER, 'carol');
      if (!first.ok) throw new Error(first.code);
      return { clock, barrier, a, b, first };
    };

    it('enrols one of two concurrent confirms of different pending enrolments and refuses the other as mfa_already_enrolled', async () => {
      const { clock, barrier, a, b, first } = await enrolling(2);
      // The first confirm has checked its code and is about to write its secret ...
      const confirmFirst = a.confirm(USER, await code(first.secret, clock.now() - 30_000));
      await vi.waitFor(() => expect(barrier.arrived()).toBe(1));
      // ... when a second enrolment starts (nothing is enrolled yet) and is confirmed with its own code.
      const second = await b.enroll(USER, 'carol');
      if (!second.ok) throw new Error(second.code);
      const confirmSecond = b.confirm(USER, await code(second.secret, clock.now()));
      const results = await Promise.all([confirmFirst, confirmSecond]);
      expect(results.map((r) => (r.ok ? 'ok' : r.code)).sort()).toEqual(['mfa_already_enrolled', 'ok']);

      // The secret enrolled is the winner's: its codes verify, the other's do not.
      const [winner, loser] = results[0]!.ok ? [first.secret, second.secret] : [second.secret, first.secret];
      clock.advance(30_000);
      expect(await a.verify(USER, await code(loser, clock.now()))).toMatchObject({ ok: false, code: 'mfa_code_invalid' });
      expect(await b.verify(USER, await code(winner, clock.now()))).toMatchObject({ ok: true });
    });

    it('enrols once when several confirms of one pending enrolment, each with its own valid code, arrive together', async () => {
      const { clock, a, b, first: started } = await enrolling(3);
      // Codes of the previous, current and next time steps: all valid, none a replay of another.
      const codes = await Promise.all([-30_000, 0, 30_000].map((d) => code(started.secret, clock.now() + d)));
      const results = await Promise.all(codes.map((c, i) => (i % 2 === 0 ? a : b).confirm(USER, c)));
      expect(results.map((r) => (r.ok ? 'ok' : r.code)).sort()).toEqual(['mfa_already_enrolled', 'mfa_already_enrolled', 'ok']);
      expect(await b.isEnrolled(USER)).toBe(true);
    });

    it('never lowers a revocation made by the other instance while its own list was behind', async () => {
      const { states } = await makePair();
      const t = Date.UTC(2026, 0, 15, 12, 0, 0);
      const [ra, rb] = states.map((store) => createRevocations({ store, now: () => t }));
      await ra!.refresh();
      await rb!.refresh();
      await ra!.revoke(USER, t);
      // The second instance has not refreshed: revoking an earlier time must not undo the later one.
      await rb!.revoke(USER, t - 60_000);
      for (const r of [ra!, rb!]) {
        await r.refresh();
        expect(r.check(USER, t - 30_000)).toBe('revoked');
        expect(r.check(USER, t + 1000)).toBe('ok');
      }
    });

    it('keeps the latest of many revocations of one subject made on both instances at once', async () => {
      const { states } = await makePair();
      const t = Date.UTC(2026, 0, 15, 12, 0, 0);
      const [ra, rb] = states.map((store) => createRevocations({ store, now: () => t }));
      const befores = Array.from({ length: 20 }, (_, i) => t - i * 1000);
      await Promise.all(befores.map((before, i) => (i % 2 === 0 ? ra! : rb!).revoke(USER, before)));
      await ra!.refresh();
      expect(ra!.check(USER, t)).toBe('revoked');
      expect(ra!.check(USER, t + 1)).toBe('ok');
    });
  });
}

contract('one in-process store', async () => {
  const state = createMemoryStateStore();
  return { states: [state, state], secrets: [stateSecretStore(state), stateSecretStore(state)] };
});

contract('two workers through their primary', async () => {
  const channel = primaryFor();
  const states = [createRelayedStateStore(channel(), 2000), createRelayedStateStore(channel(), 2000)] as const;
  return { states, secrets: [stateSecretStore(states[0]), stateSecretStore(states[1])] };
});

describe('on files', () => {
  let dir: string;
  let n = 0;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'iamgate-concurrent-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  contract('two processes on one MFA secrets file', async () => {
    const file = join(dir, `secrets-${n++}.json`);
    const channel = primaryFor();
    const states = [createRelayedStateStore(channel(), 2000), createRelayedStateStore(channel(), 2000)] as const;
    return { states, secrets: [fileSecretStore(file), fileSecretStore(file)] };
  });
});

describe('on Redis', () => {
  const redis = redisForSuite(1000);
  let n = 0;
  const store = async (prefix: string): Promise<StateStore> => createRedisStateStore(await redis.connect(), { prefix });
  contract('two replicas on one redis-server', async () => {
    const prefix = `concurrent-${n++}:`;
    const states = [await store(prefix), await store(prefix)] as const;
    return { states, secrets: [stateSecretStore(states[0]), stateSecretStore(states[1])] };
  });
});
