// docs/audit.md's table of record members is the trail as written: a real trail, holding an event
// with every field given, its outcome, the chain's start and its signed digests, has exactly the
// members the table lists (an object member's own members named `principal.arn`, as the table does),
// and the kinds it says count as a decision are the audit log's.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../src/audit/log.js';
import { DECISION_KINDS } from '../../src/audit/schema.js';
import { createFileSink } from '../../src/audit/sinks/stream.js';
import { decisionEvent, ed25519, lines, steppingClock, tempDir, type TempDir } from './support.js';

/** Members whose value is an object the table describes member by member. */
const DESCRIBED_BY_MEMBER = new Set(['principal', 'authn', 'upstream']);

/** The members of one record, `principal.arn` for the members of the objects the table takes apart. */
function membersOf(record: Record<string, unknown>): string[] {
  return Object.entries(record).flatMap(([name, value]) =>
    DESCRIBED_BY_MEMBER.has(name) && value !== null && typeof value === 'object' ? Object.keys(value).map((inner) => `${name}.${inner}`) : [name],
  );
}

/** The rows of docs/audit.md's table under the header row `header`, each as its cells. */
async function tableRows(header: string): Promise<string[][]> {
  const page = await readFile(join(import.meta.dirname, '..', '..', 'docs', 'audit.md'), 'utf8');
  const start = page.indexOf(`${header}\n`);
  expect(start).toBeGreaterThan(-1);
  const rows = page.slice(start).split('\n').slice(2);
  return rows.slice(0, rows.findIndex((row) => !row.startsWith('|'))).map((row) => row.slice(2, -2).split(' | '));
}

/** The members the table of "Records (schema version 2)" lists, one a row. */
async function documentedMembers(): Promise<string[]> {
  return (await tableRows('| member | type | present | meaning |')).map(([member = '']) => member.replaceAll('`', ''));
}

let dir: TempDir;
let written: Set<string>;

beforeAll(async () => {
  dir = await tempDir();
  const file = dir.file('audit.jsonl');
  const log = createAuditLog({ instanceId: 'gw-doc-1', sinks: [createFileSink(file)], signer: ed25519().signer, now: steppingClock(), digestEvery: { records: 2, ms: 0 } });
  await log.record(
    decisionEvent(2, {
      principal: { arn: 'arn:aws:sts::111122223333:assumed-role/OrdersAdmin/ci-42', type: 'assumed-role', session: 'ci-42', sourceIdentity: 'alice' },
      shadow: 'would_deny',
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    }),
  );
  await log.record({ kind: 'outcome', reason: 'upstream_timeout', requestId: 'req-2', status: 504, upstream: { status: 504, latencyMs: 30000.5, error: 'timeout' } });
  await log.close();
  written = new Set((await lines(file)).flatMap((line) => membersOf(JSON.parse(line) as Record<string, unknown>)));
});

afterAll(async () => {
  await dir.remove();
});

describe('the record members docs/audit.md lists', () => {
  it('include every member a trail holds', async () => {
    const documented = await documentedMembers();
    expect([...written].filter((member) => !documented.includes(member))).toEqual([]);
  });

  it('are all written by the audit log, none of them named in the table alone', async () => {
    expect(written.size).toBeGreaterThan(25);
    expect((await documentedMembers()).filter((member) => !written.has(member))).toEqual([]);
  });
});

describe('the kinds docs/audit.md lists', () => {
  it('count as a decision exactly the kinds the audit log counts as one', async () => {
    const rows = await tableRows('| kind | written by | counts as a decision |');
    const decisions = rows.filter((cells) => cells.at(-1) === 'yes').map(([kind = '']) => kind.replaceAll('`', ''));
    expect(rows.every((cells) => cells.at(-1) === 'yes' || cells.at(-1) === 'no')).toBe(true);
    expect(decisions.sort()).toEqual([...DECISION_KINDS].sort());
  });
});
