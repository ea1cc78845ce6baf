// TOTP with real codes (otplib): enrolment, the ±1 step window, one use per code (also across two
// instances sharing a real redis-server), lockout after failures and its expiry on an injected
// clock, and refusal while the shared state is unreachable.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import {
  createMemoryStateStore,
  createRedisStateStore,
  createSecretBox,
  createTotp,
  MEMORY_STORE_SWEEP_AT,
  openDurableStateStore,
  stateSecretStore,
  type StateStore,
  type Totp,
} from '../../src/auth/index.js';
import { redisForSuite, testClock, TOTP_USER, totpCodeAt } from './helpers.js';

const USER = TOTP_USER;
const box = createSecretBox(randomBytes(32));
const code = totpCodeAt;

function totpOn(state: StateStore, now: () => number, secrets = stateSecretStore(state)): Totp {
  return createTotp({
    state,
    secrets,
    box,
    issuer: 'iamgate-test',
    lockout: { maxFailures: 3, failureWindowMs: 60_000, lockoutMs: 300_000 },
    now,
  });
}

/** Enrols USER and returns the secret (the confirmation uses one code). */
async function enrol(totp: Totp, now: () => number): Promise<string> {
  const started = await totp.enroll(USER, 'carol');
  if (!started.ok) throw new Error(started.code);
  expect(started.uri).toMatch(/^otpauth:\/\/totp\/iamgate-test:carol\?/);
  const confirmed = await totp.confirm(USER, await code(started.secret, now()));
  expect(confirmed.ok).toBe(true);
  return started.secret;
}

describe('TOTP on the store kept in files (no Redis)', () => {
  it('accepts no code whose replay mark it cannot write, answering mfa_unavailable, so none is accepted that a restart would let in again', async () => {
    const clock = testClock();
    const dir = await mkdtemp(join(tmpdir(), 'iamgate-totp-'));
    try {
      const files = { hashes: join(dir, 'revocations.json'), values: join(dir, 'mfa-attempts.json') };
      const totp = totpOn(await openDurableStateStore(files, { now: clock.now }), clock.now);
      const secret = await enrol(totp, clock.now);
      clock.advance(30_000);
      // A directory where the file should be: no new file can be renamed over it.
      await rm(files.values);
      await mkdir(files.values);
      expect(await totp.verify(USER, await code(secret, clock.now()))).toEqual({ ok: false, code: 'mfa_unavailable' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TOTP on the in-memory store', () => {
  it('keeps the store within its bound however many codes are accepted: the replay marks of past steps are dropped once they expire', async () => {
    const clock = testClock();
    const state = createMemoryStateStore({ now: clock.now });
    const totp = totpOn(state, clock.now);
    const secret = await enrol(totp, clock.now);
    let most = 0;
    // A code accepted in each of 6,000 steps (50 hours): each sets a replay mark kept for 120 s.
    for (let step = 0; step < 6_000; step++) {
      clock.advance(30_000);
      expect(await totp.verify(USER, await code(secret, clock.now()))).toMatchObject({ ok: true });
      most = Math.max(most, state.entries());
    }
    // A handful of live entries (the secret, the marks of the last 4 steps), at most MEMORY_STORE_SWEEP_AT more.
    expect(most).toBeLessThanOrEqual(MEMORY_STORE_SWEEP_AT + 8);
  });

  it('confirms enrolment with a valid code and refuses a second enrolment', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    expect(await totp.isEnrolled(USER)).toBe(false);
    await enrol(totp, clock.now);
    expect(await totp.isEnrolled(USER)).toBe(true);
    expect(await totp.enroll(USER, 'carol')).toEqual({ ok: false, code: 'mfa_already_enrolled' });
  });

  it('refuses to confirm an enrolment with a wrong code, and verifies nothing before enrolment', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    expect(await totp.verify(USER, '123456')).toEqual({ ok: false, code: 'mfa_not_enrolled' });
    const started = await totp.enroll(USER, 'carol');
    if (!started.ok) throw new Error(started.code);
    const wrong = (Number(await code(started.secret, clock.now())) + 1) % 1_000_000;
    expect(await totp.confirm(USER, String(wrong).padStart(6, '0'))).toMatchObject({ ok: false, code: 'mfa_code_invalid' });
    expect(await totp.isEnrolled(USER)).toBe(false);
  });

  it('accepts a valid code once and refuses the same code replayed', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    const secret = await enrol(totp, clock.now);
    clock.advance(30_000);
    const c = await code(secret, clock.now());
    expect(await totp.verify(USER, c)).toEqual({ ok: true, at: clock.now() });
    expect(await totp.verify(USER, c)).toEqual({ ok: false, code: 'mfa_code_replayed' });
    clock.advance(20_000);
    expect(await totp.verify(USER, c)).toMatchObject({ ok: false });
  });

  // A code verifies for three steps (its own and one on each side): its mark must be its own
  // step's, not the clock's, or it could be spent once in each of them.
  it('refuses a code again in each other step where it still verifies, whether it was first used late or early', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    const secret = await enrol(totp, clock.now);
    const step = Math.floor(clock.now() / 30_000) * 30_000 + 300_000;
    const late = await code(secret, step);
    clock.set(step + 29_000);
    expect((await totp.verify(USER, late)).ok).toBe(true);
    clock.set(step + 30_000);
    expect(await totp.verify(USER, late)).toEqual({ ok: false, code: 'mfa_code_replayed' });
    const early = await code(secret, step + 90_000);
    clock.set(step + 60_000);
    expect((await totp.verify(USER, early)).ok).toBe(true);
    for (const t of [step + 90_000, step + 119_000]) {
      clock.set(t);
      expect(await totp.verify(USER, early)).toEqual({ ok: false, code: 'mfa_code_replayed' });
    }
  });

  it('accepts codes one step early or late and refuses codes two steps away', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    const secret = await enrol(totp, clock.now);
    const t = clock.now() + 300_000;
    clock.set(t);
    expect((await totp.verify(USER, await code(secret, t - 30_000))).ok).toBe(true);
    expect((await totp.verify(USER, await code(secret, t + 30_000))).ok).toBe(true);
    expect(await totp.verify(USER, await code(secret, t - 60_000))).toMatchObject({ ok: false, code: 'mfa_code_invalid' });
  });

  it('treats malformed codes as failed attempts instead of errors', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    await enrol(totp, clock.now);
    for (const bad of ['12345', '1234567', 'abcdef', '', '12 456']) {
      expect((await totp.verify(USER, bad)).ok).toBe(false);
    }
  });

  it('locks the user out after repeated failures, even for a valid code, until the lockout expires', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    const secret = await enrol(totp, clock.now);
    clock.advance(90_000);
    expect(await totp.verify(USER, '000000')).toMatchObject({ code: 'mfa_code_invalid' });
    expect(await totp.verify(USER, '000001')).toMatchObject({ code: 'mfa_code_invalid' });
    expect(await totp.verify(USER, '000002')).toEqual({ ok: false, code: 'mfa_locked', retryAfterSeconds: 300 });
    clock.advance(60_000);
    expect(await totp.verify(USER, await code(secret, clock.now()))).toEqual({ ok: false, code: 'mfa_locked', retryAfterSeconds: 240 });
    clock.advance(241_000);
    expect(await totp.verify(USER, await code(secret, clock.now()))).toMatchObject({ ok: true });
  });

  it('keeps a user locked out, for a whole lockout, while the lock it finds is not a time it wrote', async () => {
    const clock = testClock();
    const state = createMemoryStateStore({ now: clock.now });
    const totp = totpOn(state, clock.now);
    const secret = await enrol(totp, clock.now);
    for (const garbled of ['garbled', '', 'NaN', '1e999']) {
      clock.advance(90_000);
      await state.set(`mfa:lock:${USER}`, garbled, 300_000);
      expect([garbled, await totp.verify(USER, await code(secret, clock.now()))]).toEqual([garbled, { ok: false, code: 'mfa_locked', retryAfterSeconds: 300 }]);
      await state.del(`mfa:lock:${USER}`);
    }
  });

  it('writes a lock it cannot read again as a whole lockout from now, which then ends like any lock', async () => {
    const clock = testClock();
    const state = createMemoryStateStore({ now: clock.now });
    const totp = totpOn(state, clock.now);
    const secret = await enrol(totp, clock.now);
    clock.advance(90_000);
    // Another program's key, without an expiry: it must not lock the user out for longer than a lockout.
    await state.set(`mfa:lock:${USER}`, 'garbled');
    expect(await totp.verify(USER, await code(secret, clock.now()))).toEqual({ ok: false, code: 'mfa_locked', retryAfterSeconds: 300 });
    expect(await state.get(`mfa:lock:${USER}`)).toBe(String(clock.now() + 300_000));
    clock.advance(300_000 + 30_000);
    expect(await totp.verify(USER, await code(secret, clock.now()))).toMatchObject({ ok: true });
  });

  it('refuses the right code sent together with more wrong guesses than maxFailures', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    const secret = await enrol(totp, clock.now);
    clock.advance(90_000);
    const right = await code(secret, clock.now());
    const wrong = Array.from({ length: 20 }, (_, i) => String(i).padStart(6, '0')).filter((c) => c !== right);
    const results = await Promise.all([...wrong, right].map((c) => totp.verify(USER, c)));
    expect(results.map((r) => (r.ok ? 'ok' : r.code)).filter((c) => c !== 'mfa_locked')).toEqual(['mfa_code_invalid', 'mfa_code_invalid']);
    expect(results.at(-1)).toEqual({ ok: false, code: 'mfa_locked', retryAfterSeconds: 300 });
  });

  it('forgets failures after a success', async () => {
    const clock = testClock();
    const totp = totpOn(createMemoryStateStore({ now: clock.now }), clock.now);
    const secret = await enrol(totp, clock.now);
    clock.advance(90_000);
    await totp.verify(USER, '000000');
    await totp.verify(USER, '000001');
    expect((await totp.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
    clock.advance(30_000);
    await totp.verify(USER, '000000');
    await totp.verify(USER, '000001');
    expect((await totp.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  it('never replaces an enrolled secret through an enrolment started before the first one was confirmed', async () => {
    const clock = testClock();
    const memory = createMemoryStateStore({ now: clock.now });
    // Holds the second pending write until the first enrolment is confirmed, as a slower replica
    // or a slower Redis connection would: the second enrolment read "not enrolled" before that.
    let pendingWrites = 0;
    let releaseSecond: () => void = () => undefined;
    const secondMayWrite = new Promise<void>((resolve) => (releaseSecond = resolve));
    const state: StateStore = {
      ...memory,
      get: (key) => memory.get(key),
      set: async (key, value, ttlMs) => {
        if (key.startsWith('mfa:pending:') && ++pendingWrites === 2) await secondMayWrite;
        return memory.set(key, value, ttlMs);
      },
    };
    const totp = totpOn(state, clock.now);
    const first = await totp.enroll(USER, 'carol');
    if (!first.ok) throw new Error(first.code);
    const second = totp.enroll(USER, 'carol');
    await vi.waitFor(() => expect(pendingWrites).toBe(2));
    expect((await totp.confirm(USER, await code(first.secret, clock.now()))).ok).toBe(true);
    releaseSecond();
    const late = await second;
    clock.advance(30_000);
    if (!late.ok) throw new Error(late.code);
    expect(await totp.confirm(USER, await code(late.secret, clock.now()))).toMatchObject({ ok: false, code: 'mfa_already_enrolled' });
    expect(await totp.verify(USER, await code(late.secret, clock.now()))).toMatchObject({ ok: false, code: 'mfa_code_invalid' });
    expect((await totp.verify(USER, await code(first.secret, clock.now()))).ok).toBe(true);
  });

  it('stores only sealed secrets that another user cannot open', async () => {
    const clock = testClock();
    const state = createMemoryStateStore({ now: clock.now });
    const totp = totpOn(state, clock.now);
    const secret = await enrol(totp, clock.now);
    const blob = await state.get(`mfa:secret:${USER}`);
    expect(blob).toBeDefined();
    expect(blob).not.toContain(secret);
    expect(box.open(blob!, USER)).toBe(secret);
    expect(box.open(blob!, 'arn:aws:iam::111122223333:user/mallory')).toBeUndefined();
  });
});

describe('TOTP on a shared redis-server', () => {
  const suite = redisForSuite(300);

  async function instance(now: () => number, prefix: string): Promise<Totp> {
    return totpOn(createRedisStateStore(await suite.connect(), { prefix }), now);
  }

  it('refuses on a second instance a code the first one accepted', async () => {
    const clock = testClock();
    const a = await instance(clock.now, 'replay:');
    const b = await instance(clock.now, 'replay:');
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    const c = await code(secret, clock.now());
    expect((await a.verify(USER, c)).ok).toBe(true);
    expect(await b.verify(USER, c)).toEqual({ ok: false, code: 'mfa_code_replayed' });
    clock.advance(30_000);
    expect((await b.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  it('refuses a code it accepted even after Redis has lost the code’s mark (evicted, deleted, or Redis restarted)', async () => {
    const clock = testClock();
    const a = await instance(clock.now, 'lost:');
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    const c = await code(secret, clock.now());
    expect((await a.verify(USER, c)).ok).toBe(true);
    const admin = await suite.connect();
    const marks = await admin.keys('lost:mfa:used:*');
    expect(marks.length).toBeGreaterThan(0);
    await admin.del(...marks);
    expect(await a.verify(USER, c)).toEqual({ ok: false, code: 'mfa_code_replayed' });
    clock.advance(30_000);
    expect((await a.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  it('shares the lockout between instances and lifts it on the injected clock', async () => {
    const clock = testClock();
    const a = await instance(clock.now, 'lock:');
    const b = await instance(clock.now, 'lock:');
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    await a.verify(USER, '000000');
    await b.verify(USER, '000001');
    expect(await a.verify(USER, '000002')).toMatchObject({ code: 'mfa_locked' });
    expect(await b.verify(USER, await code(secret, clock.now()))).toMatchObject({ code: 'mfa_locked' });
    clock.advance(301_000);
    expect((await b.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  /** A TOTP service whose counters and locks are in Redis and whose secrets are not, so emptying Redis leaves the enrolment. */
  const lockoutOn = (client: Redis, prefix: string, now: () => number): Totp =>
    totpOn(createRedisStateStore(client, { prefix }), now, stateSecretStore(createMemoryStateStore({ now })));
  /** A code that is not the one of `secret` at `ms`. */
  const wrongCode = async (secret: string, ms: number): Promise<string> => String((Number(await code(secret, ms)) + 1) % 1_000_000).padStart(6, '0');
  /** USER enrolled on lockoutOn a minute ago, and a wrong code for now. */
  async function enrolledOn(client: Redis, prefix: string): Promise<{ clock: ReturnType<typeof testClock>; a: Totp; secret: string; wrong: string }> {
    const clock = testClock();
    const a = lockoutOn(client, prefix, clock.now);
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    return { clock, a, secret, wrong: await wrongCode(secret, clock.now()) };
  }

  it('keeps counting the failed attempts it saw when Redis loses the counter between guesses, and locks out at the limit', async () => {
    const admin = await suite.connect();
    const { clock, a, secret, wrong } = await enrolledOn(admin, 'floor:');
    // Every guess meets an empty Redis: the shared counter reads 1 each time.
    expect(await a.verify(USER, wrong)).toMatchObject({ ok: false, code: 'mfa_code_invalid' });
    await admin.flushall();
    expect(await a.verify(USER, wrong)).toMatchObject({ ok: false, code: 'mfa_code_invalid' });
    await admin.flushall();
    expect(await a.verify(USER, wrong)).toMatchObject({ ok: false, code: 'mfa_locked' });
    await admin.flushall();
    expect(await a.verify(USER, await code(secret, clock.now()))).toMatchObject({ ok: false, code: 'mfa_locked', retryAfterSeconds: 300 });
    // The lockout lasts what it announced, and then the right code works again.
    clock.advance(301_000);
    expect((await a.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  it('keeps a lockout it set when Redis restarts empty, until the lockout ends on the injected clock', async () => {
    const redis = suite.server();
    const client = await suite.connect();
    const { clock, a, secret, wrong } = await enrolledOn(client, 'restart:');
    await a.verify(USER, wrong);
    await a.verify(USER, wrong);
    expect(await a.verify(USER, wrong)).toMatchObject({ code: 'mfa_locked' });
    await redis.stop();
    await redis.start();
    await vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000 });
    expect(await client.dbsize()).toBe(0);
    clock.advance(120_000);
    expect(await a.verify(USER, await code(secret, clock.now()))).toMatchObject({ ok: false, code: 'mfa_locked', retryAfterSeconds: 180 });
    // Written back: an instance that counted none of the failures refuses too.
    const b = lockoutOn(client, 'restart:', clock.now);
    expect(await b.verify(USER, await code(secret, clock.now()))).toMatchObject({ ok: false, code: 'mfa_locked', retryAfterSeconds: 180 });
    clock.advance(181_000);
    expect((await a.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  it('lifts the lockout it holds once another instance resets the user, and forgets its count once the user passes there', async () => {
    const clock = testClock();
    const admin = await suite.connect();
    const a = await instance(clock.now, 'lift:');
    const b = await instance(clock.now, 'lift:');
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    const wrong = await wrongCode(secret, clock.now());
    for (let i = 0; i < 3; i++) await a.verify(USER, wrong);
    await admin.del(`lift:mfa:lock:${USER}`);
    expect(await a.verify(USER, await code(secret, clock.now()))).toMatchObject({ code: 'mfa_locked' });
    // An administrator's reset on b writes a new clearing mark, which a reads on its next check.
    await b.reset(USER);
    const again = await enrol(b, clock.now);
    clock.advance(30_000);
    expect((await a.verify(USER, await code(again, clock.now()))).ok).toBe(true);
    // Two failures counted on a, then a success on b: a's next failures count from b's success.
    const wrongAgain = await wrongCode(again, clock.now());
    await a.verify(USER, wrongAgain);
    await a.verify(USER, wrongAgain);
    clock.advance(30_000);
    expect((await b.verify(USER, await code(again, clock.now()))).ok).toBe(true);
    expect(await a.verify(USER, wrongAgain)).toMatchObject({ code: 'mfa_code_invalid' });
    expect(await a.verify(USER, wrongAgain)).toMatchObject({ code: 'mfa_code_invalid' });
    expect(await a.verify(USER, wrongAgain)).toMatchObject({ code: 'mfa_locked' });
  });

  it('never undoes a reset made on another instance while it writes back a lockout Redis lost', async () => {
    const clock = testClock();
    const client = await suite.connect();
    // a's store, held just before it writes a lock back, while b resets the user.
    let hold: Promise<void> | undefined;
    let holding: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const redisStore = createRedisStateStore(client, { prefix: 'undo:' });
    const store: StateStore = {
      ...redisStore,
      set: async (key, value, ttlMs) => {
        if (hold && key.startsWith('mfa:lock:')) {
          holding();
          await hold;
        }
        return redisStore.set(key, value, ttlMs);
      },
    };
    const a = totpOn(store, clock.now, stateSecretStore(createMemoryStateStore({ now: clock.now })));
    const b = lockoutOn(client, 'undo:', clock.now);
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    const wrong = await wrongCode(secret, clock.now());
    for (let i = 0; i < 3; i++) await a.verify(USER, wrong);
    await client.del(`undo:mfa:lock:${USER}`);
    let release: () => void = () => undefined;
    hold = new Promise<void>((resolve) => (release = resolve));
    const writingBack = a.verify(USER, await code(secret, clock.now()));
    await held;
    await b.reset(USER);
    release();
    hold = undefined;
    // The reset stands: no lock in Redis, and neither instance refuses as locked.
    expect(await writingBack).not.toMatchObject({ code: 'mfa_locked' });
    expect(await client.exists(`undo:mfa:lock:${USER}`)).toBe(0);
    clock.advance(30_000);
    expect((await a.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });

  it('accepts no code while Redis is unreachable, and recovers when it is back', async () => {
    const redis = suite.server();
    const clock = testClock();
    const a = await instance(clock.now, 'outage:');
    const secret = await enrol(a, clock.now);
    clock.advance(60_000);
    redis.pause();
    try {
      expect(await a.verify(USER, await code(secret, clock.now()))).toEqual({ ok: false, code: 'mfa_unavailable' });
    } finally {
      redis.resume();
    }
    clock.advance(30_000);
    expect((await a.verify(USER, await code(secret, clock.now()))).ok).toBe(true);
  });
});
