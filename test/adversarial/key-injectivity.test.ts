// Decision-cache keys are built by joining parts a caller influences (the principal's name, the
// resource its path makes, context values from headers, query and tags). Two inputs that differ in
// anything the key covers must never share a key, whatever separators, digits, type letters or
// empty parts the values hold: otherwise one caller's cached Allow would answer another's request.
// Generated from an alphabet of the key layout's own separators, checked against a slow model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKeyBuilder, decisionKey, portableText, sharedKey, type DecisionKeyInput } from '../../src/cache/index.js';
import { createContext, type ContextScalar, type ContextValue } from '../../src/policy/index.js';
import { runsOf } from './support/generated.js';

/** The characters the key layout itself writes (lengths, `:`, `#`, type letters, `;`, `-`), and a few others. */
const text = fc.string({ unit: fc.constantFrom('', ':', '#', ';', '-', '0', '1', '2', 's', 'n', 'a', 't', 'f', '/', '\u2028', '\ud800'), maxLength: 6 });
const scalar: fc.Arbitrary<ContextScalar> = fc.oneof(text, fc.constantFrom(0, -0, 1, 10, 1.5, 1e21, -1), fc.boolean());
const value: fc.Arbitrary<ContextValue> = fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }));
/** Context key names (lower-case, as a policy set's keys are), separators inside. */
const NAMES = ['a', 'a:b', 'b', '1:a', 'x#1', 'c;'] as const;

const input: fc.Arbitrary<DecisionKeyInput> = fc
  .record({
    fingerprint: text,
    generation: text,
    principal: text,
    action: text,
    resource: text,
    entries: fc.dictionary(fc.constantFrom(...NAMES), value, { maxKeys: 3 }),
    keys: fc.subarray([...NAMES], { maxLength: 3 }),
  })
  .map(({ entries, keys, ...rest }) => ({ ...rest, context: createContext(entries), keys: new Set(keys) }));

const PARTS = ['fingerprint', 'generation', 'principal', 'action', 'resource'] as const;

/**
 * `a` and an input made from it by moving `k` characters across the border between two adjacent
 * parts (`alice` + `:b` against `alice:` + `b`), or between two read context values, or by giving a
 * read value another type that prints alike (`'1'` for `1`, `''` or `[]` for a missing key): the
 * inputs a careless join would give the same key.
 */
const neighbours: fc.Arbitrary<[DecisionKeyInput, DecisionKeyInput]> = fc.tuple(input, fc.nat(PARTS.length + 3), fc.integer({ min: -3, max: 3 })).map(([a, at, k]) => {
  if (at < PARTS.length - 1) {
    const [left, right] = [PARTS[at]!, PARTS[at + 1]!];
    const joined = a[left] + a[right];
    const cut = Math.max(0, Math.min(joined.length, a[left].length + k));
    return [a, { ...a, [left]: joined.slice(0, cut), [right]: joined.slice(cut) }];
  }
  const names = [...a.keys].sort();
  const entries = new Map<string, ContextValue>(names.flatMap((n) => (a.context.get(n) === undefined ? [] : [[n, a.context.get(n)!] as [string, ContextValue]])));
  const [first, second] = names;
  if (first === undefined) return [a, a];
  const v = entries.get(first);
  if (at >= PARTS.length - 1 && at <= PARTS.length && second !== undefined) {
    // Both as strings (a's too), so that only where the border falls tells them apart.
    const [left, right] = [typeof v === 'string' ? v : 's', typeof entries.get(second) === 'string' ? (entries.get(second) as string) : 's'];
    const joined = left + right;
    const cut = Math.max(0, Math.min(joined.length, left.length + k));
    const before = createContext(Object.fromEntries([...entries, [first, left], [second, right]]));
    entries.set(first, joined.slice(0, cut));
    entries.set(second, joined.slice(cut));
    return [{ ...a, context: before }, { ...a, context: createContext(Object.fromEntries(entries)) }];
  } else if (v === undefined) entries.set(first, k % 2 === 0 ? '' : []);
  else if (v === 0) entries.set(first, Object.is(v, -0) ? 0 : -0);
  else if (typeof v === 'number') entries.set(first, String(v));
  else if (typeof v === 'string' && v !== '' && !Number.isNaN(Number(v))) entries.set(first, Number(v));
  else entries.delete(first);
  return [a, { ...a, context: createContext(Object.fromEntries(entries)) }];
});

/** What a key must tell apart, compared the slow way: every part, each read value with its type (-0 apart from 0), a missing one apart from all. */
function covered(i: DecisionKeyInput): unknown[] {
  const tagged = (v: ContextValue | undefined): unknown => {
    if (v === undefined) return ['missing'];
    if (Array.isArray(v)) return ['set', ...v.map((s) => tagged(s))];
    return [typeof v, Object.is(v, -0) ? '-0' : String(v)];
  };
  const names = [...i.keys].sort();
  return [i.fingerprint, i.generation, i.principal, i.action, i.resource, names, names.map((n) => tagged(i.context.get(n)))];
}

const same = (a: DecisionKeyInput, b: DecisionKeyInput): boolean => JSON.stringify(covered(a)) === JSON.stringify(covered(b));

describe('decision-cache keys over parts holding the key layout’s own separators', () => {
  it('are equal exactly when everything they cover is, as portable text, Redis key and in-process key alike', () => {
    const builder = createKeyBuilder();
    fc.assert(
      fc.property(fc.oneof(fc.tuple(input, input), neighbours), ([a, b]) => {
        const [ka, kb] = [decisionKey(a), decisionKey(b)];
        expect(ka === kb).toBe(same(a, b));
        expect(sharedKey('p:', ka!) === sharedKey('p:', kb!)).toBe(same(a, b));
        const [la, lb] = [builder.key(a)!, builder.key(b)!];
        expect(la.local === lb.local).toBe(same(a, b));
        expect([portableText(la), portableText(lb)]).toEqual([ka, kb]);
      }),
      runsOf(Number(process.env['FC_RUNS'] ?? 2000)),
    );
  });

  it('are equal for inputs that differ only in what no key covers, so the property above can tell both ways', () => {
    const a: DecisionKeyInput = { fingerprint: 'f', generation: 'g', principal: 'p', action: 'x', resource: 'r', context: createContext({ a: '1', b: '2' }), keys: new Set(['a']) };
    const b: DecisionKeyInput = { ...a, context: createContext({ a: '1', b: 'other' }) };
    expect([decisionKey(a) === decisionKey(b), same(a, b)]).toEqual([true, true]);
  });
});
