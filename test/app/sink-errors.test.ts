// An audit sink that keeps failing the same way (a redis sink without its Redis fails every
// reconnection, several times a second) is logged once a minute with a count, never silenced:
// a new cause or sink is logged at once.
import { describe, expect, it } from 'vitest';
import { sinkErrorReporter } from '../../src/app/audit.js';

function reporter(): { report: (sink: string, err: unknown) => void; lines: object[]; advance: (ms: number) => void } {
  let time = 1_000_000;
  const lines: object[] = [];
  const report = sinkErrorReporter({ warn: (fields: object) => void lines.push(fields) }, () => time);
  return { report, lines, advance: (ms) => (time += ms) };
}

describe('audit sink errors in the log', () => {
  it('says a repeated error once, then again a minute later with how many times it was not said', () => {
    const { report, lines, advance } = reporter();
    for (let i = 0; i < 5; i++) {
      report('redis', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
      advance(200);
    }
    expect(lines).toEqual([{ sink: 'redis', err: 'connect ECONNREFUSED 127.0.0.1:6379' }]);
    advance(60_000);
    report('redis', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    expect(lines.at(-1)).toEqual({ sink: 'redis', err: 'connect ECONNREFUSED 127.0.0.1:6379', notRepeated: 4 });
  });

  it('says at once an error with another message or from another sink', () => {
    const { report, lines } = reporter();
    report('redis', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    report('redis', new Error('redis connection is reconnecting'));
    report('file', new Error('connect ECONNREFUSED 127.0.0.1:6379'));
    report('redis', new Error('2 follow-up record(s) not written: sink failed'));
    expect(lines).toHaveLength(4);
  });
});
