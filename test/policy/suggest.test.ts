// "Did you mean": the nearest known name for a misspelt one, and none for a word unlike them all.
import { describe, expect, it } from 'vitest';
import { closestName, didYouMean } from '../../src/policy/suggest.js';

describe('did you mean', () => {
  it.each([
    ['StringEqual', ['StringEquals', 'StringLike', 'NumericEquals'], 'StringEquals'],
    ['aws:usernme', ['aws:username', 'aws:userid', 'aws:SourceIp'], 'aws:username'],
    ['upstreem', ['listen', 'upstream', 'operations'], 'upstream'],
    ['alcie', ['alice', 'bob', 'carol'], 'alice'],
    ['AWS:USERNAME', ['aws:username'], 'aws:username'],
  ])('suggests for %s the nearest of the known names', (word, known, expected) => {
    expect(closestName(word, known)).toBe(expected);
  });

  it('suggests nothing for a word far from every known name', () => {
    expect(closestName('colour', ['listen', 'upstream', 'operations'])).toBeUndefined();
    expect(didYouMean('colour', ['listen', 'upstream'])).toBe('');
  });

  it('phrases the suggestion to be appended to a message', () => {
    expect(didYouMean('upstreem', ['upstream'])).toBe('; did you mean "upstream"?');
    expect(didYouMean('upstream', ['upstream'])).toBe('');
  });
});
