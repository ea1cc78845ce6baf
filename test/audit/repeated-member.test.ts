import { describe, expect, it } from 'vitest';
import { repeatedMember, scanForRepeatedMember } from '../../src/audit/repeated-member.js';

describe('repeatedMember', () => {
  it('finds a name given twice in one object, at any depth and however it is spelt', () => {
    expect(scanForRepeatedMember('{"a":1,"b":2,"a":3}')).toBe('a');
    expect(scanForRepeatedMember('{"p":{"arn":"x","arn":"y"}}')).toBe('arn');
    expect(scanForRepeatedMember('[{"k":1},{"k":2,"k":3}]')).toBe('k');
    expect(scanForRepeatedMember('{"d":1,"\\u0064":2}')).toBe('d');
    expect(scanForRepeatedMember('{"d" :1, "d"\t: 2}')).toBe('d');
  });

  it('finds none where each object names each member once, values and other objects spelling the same names included', () => {
    expect(scanForRepeatedMember('{"a":"a","b":["a","b"],"c":{"a":1,"c":{"c":2}}}')).toBeUndefined();
    expect(scanForRepeatedMember('[{"k":1},{"k":2}]')).toBeUndefined();
    expect(scanForRepeatedMember('{"path":"/x\\"a\\":","a":"\\\\","b":"{\\"b\\":1}"}')).toBeUndefined();
    expect(scanForRepeatedMember('{}')).toBeUndefined();
  });

  it('reads a line as JSON.stringify writes it without scanning it, and scans any other spelling', () => {
    const line = '{"a":1,"b":{"c":[1,2]}}';
    expect(repeatedMember(line, JSON.parse(line))).toBeUndefined();
    const twice = '{"a":0,"a":1,"b":{"c":[1,2]}}';
    expect(repeatedMember(twice, JSON.parse(twice))).toBe('a');
    const spaced = '{"a": 1, "b": {"c": [1, 2]}}';
    expect(repeatedMember(spaced, JSON.parse(spaced))).toBeUndefined();
  });
});
