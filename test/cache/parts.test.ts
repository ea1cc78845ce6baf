// The cache's small parts on their own: LRU, circuit breaker, value codec, generations,
// announcements and the configuration section.
import { describe, expect, it } from 'vitest';
import {
  createBreaker,
  createGenerationHolder,
  createLru,
  decodeEntry,
  encodeEntry,
  readCacheConfig,
  type BreakerState,
  type CacheEntry,
} from '../../src/cache/index.js';
import { parseAnnouncement } from '../../src/cluster/index.js';

function clock(start = 1_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

describe('the in-process LRU', () => {
  it('keeps at most maxEntries, evicting the least recently used', () => {
    const c = clock();
    const lru = createLru<number>({ maxEntries: 3, now: c.now });
    lru.set('a', 1, 1000);
    lru.set('b', 2, 1000);
    lru.set('c', 3, 1000);
    expect(lru.get('a')).toBe(1); // a is now the most recent
    lru.set('d', 4, 1000);
    expect(lru.size).toBe(3);
    expect(lru.get('b')).toBeUndefined();
    expect([lru.get('a'), lru.get('c'), lru.get('d')]).toEqual([1, 3, 4]);
  });

  it('keeps an entry in use through a long stream of entries used once', () => {
    const lru = createLru<number>({ maxEntries: 100, now: clock().now });
    lru.set('hot', 0, 1000);
    for (let i = 0; i < 5000; i++) {
      lru.set(`once-${i}`, i, 1000);
      if (i % 40 === 0) expect(lru.get('hot'), `after ${i}`).toBe(0);
    }
    expect(lru.size).toBe(100);
    expect(lru.get('once-0')).toBeUndefined();
  });

  it('stops serving an entry when its time to live is over', () => {
    const c = clock();
    const lru = createLru<string>({ maxEntries: 10, now: c.now });
    lru.set('k', 'v', 100);
    c.advance(99);
    expect(lru.get('k')).toBe('v');
    c.advance(1);
    expect(lru.get('k')).toBeUndefined();
    expect(lru.size).toBe(0);
  });

  it('replaces a value and its expiry when set again, and clears', () => {
    const c = clock();
    const lru = createLru<string>({ maxEntries: 10, now: c.now });
    lru.set('k', 'old', 10);
    lru.set('k', 'new', 1000);
    c.advance(50);
    expect(lru.get('k')).toBe('new');
    lru.set('j', 'x', 0);
    expect(lru.get('j')).toBeUndefined();
    lru.clear();
    expect(lru.size).toBe(0);
  });

  it('refuses a bound below one', () => {
    expect(() => createLru({ maxEntries: 0, now: Date.now })).toThrow(TypeError);
  });
});

describe('the circuit breaker', () => {
  it('opens after the configured failures in a row, then lets one trial through after the cool-down', () => {
    const c = clock();
    const changes: BreakerState[] = [];
    const b = createBreaker({ failures: 3, cooldownMs: 500, now: c.now, onChange: (s) => changes.push(s) });
    b.failure();
    b.failure();
    b.success(); // a success resets the count
    b.failure();
    b.failure();
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state()).toBe('open');
    expect(b.allow()).toBe(false);
    c.advance(500);
    expect(b.allow()).toBe(true); // the trial
    expect(b.state()).toBe('half-open');
    expect(b.allow()).toBe(false); // only one trial at a time
    b.failure();
    expect(b.state()).toBe('open');
    c.advance(499);
    expect(b.allow()).toBe(false);
    c.advance(1);
    expect(b.allow()).toBe(true);
    b.success();
    expect(b.state()).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });
});

describe('cached values', () => {
  const entries: CacheEntry[] = [
    { decision: { decision: 'Allow', matched: [{ policy: 'p', kind: 'identity', index: 0, sid: 'S1', effect: 'Allow' }] } },
    { decision: { decision: 'ExplicitDeny', matched: [{ policy: 'b', kind: 'boundary', index: 2, effect: 'Deny' }] }, reason: 'explicit_deny' },
    {
      decision: {
        decision: 'ImplicitDeny',
        matched: [],
        implicitReason: 'no_identity_allow',
        nearMisses: [
          {
            statement: { policy: 'identity[0]', kind: 'identity', index: 1, effect: 'Allow' },
            failed: [
              { path: 'Statement[1].Condition.Bool.aws:MultiFactorAuthPresent', operator: 'Bool', key: 'aws:MultiFactorAuthPresent', why: 'missing' },
              { path: 'Statement[1].Condition.NumericLessThan.s3:max-keys', operator: 'NumericLessThan', key: 's3:max-keys', why: 'unreadable' },
              { path: 'Statement[1].Condition.StringEquals.aws:username', operator: 'StringEquals', key: 'aws:username', why: 'mismatch' },
            ],
          },
        ],
      },
      reason: 'mfa_required',
    },
    { decision: { decision: 'ImplicitDeny', matched: [], implicitReason: 'scp_no_allow' } },
  ];

  it('read back exactly as written', () => {
    for (const entry of entries) expect(decodeEntry(encodeEntry(entry))).toStrictEqual(entry);
  });

  it('are a miss when they are not exactly the compact shape', () => {
    const bad = [
      '',
      'not json',
      '{}',
      '[1,"A",0,[],0]',
      '[2,"A",0,[],0,0]',
      '[1,"X",0,[],0,0]',
      '[1,"A","no_identity_allow",[],0,0]',
      '[1,"A",0,[["p","identity",0,"A"]],[],0]',
      '[1,"A",0,[["p","admin",0,"A"]],0,0]',
      '[1,"A",0,[["p","identity",-1,"A"]],0,0]',
      '[1,"A",0,[["p","identity",0,"Allow"]],0,0]',
      '[1,"A",0,[["p","identity",0,"A",7]],0,0]',
      '[1,"I","made_up",[],0,0]',
      '[1,"I",0,[],[[["p","identity",0,"A"],[["a","b","c","?"]]]],0]',
      '[1,"A",0,[],0,5]',
    ];
    for (const text of bad) expect(decodeEntry(text), text).toBeUndefined();
  });
});

describe('policy generations', () => {
  it('count changes of content hash and ignore the same hash twice', () => {
    const h = createGenerationHolder();
    expect(h.current()).toBeUndefined();
    expect(h.advance('a')).toEqual({ id: 1, hash: 'a' });
    expect(h.advance('a')).toBeUndefined();
    expect(h.advance('b')).toEqual({ id: 2, hash: 'b' });
    expect(h.advance('a')).toEqual({ id: 3, hash: 'a' });
    expect(() => h.advance('')).toThrow(TypeError);
  });
});

describe('announcements', () => {
  it('are read strictly', () => {
    expect(parseAnnouncement('{"type":"generation","hash":"h","origin":"o","at":1}')).toEqual({ type: 'generation', hash: 'h', origin: 'o', at: 1 });
    expect(parseAnnouncement('{"type":"revocation","subject":"arn","before":5,"origin":"o","at":1}')).toEqual({
      type: 'revocation',
      subject: 'arn',
      before: 5,
      origin: 'o',
      at: 1,
    });
    for (const text of ['x', 'null', '{"type":"generation","hash":"","origin":"o","at":1}', '{"type":"generation","hash":"h","at":1}', '{"type":"revocation","subject":"a","origin":"o","at":1}', '{"type":"other","origin":"o","at":1}']) {
      expect(parseAnnouncement(text), text).toBeUndefined();
    }
  });
});

describe('the cache configuration section', () => {
  it('has defaults for every key', () => {
    const { config, findings } = readCacheConfig(undefined);
    expect(findings).toEqual([]);
    expect(config).toEqual({
      l1: { maxEntries: 10_000, ttlMs: 60_000 },
      l2: { ttlMs: 300_000, prefix: 'iamgate:decision:', timeoutMs: 50, minEvalMicros: 200 },
      breaker: { failures: 3, cooldownMs: 1000 },
      channel: 'iamgate:generation',
    });
  });

  it('turns levels off and lists every problem with its key path', () => {
    expect(readCacheConfig({ l1: { enabled: false }, l2: { enabled: false } }).config).toMatchObject({ l1: false, l2: false });
    const { config, findings } = readCacheConfig({ l1: { maxEntries: 0, size: 3 }, l2: { timeoutMs: 'fast' }, breaker: { failures: 0 }, extra: 1 });
    expect(config).toBeUndefined();
    expect(findings.map((f) => f.path).sort()).toEqual(['cache.breaker.failures', 'cache.extra', 'cache.l1.maxEntries', 'cache.l1.size', 'cache.l2.timeoutMs']);
  });
});
