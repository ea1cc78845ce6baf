// The access diff between two policy folders: both access matrices over the union of their
// principals and columns, and every cell whose access changed, as a gain or a loss.
import { cellFor, matrixColumns, matrixPrincipals, type Access, type Cell, type MatrixColumn, type MatrixPrincipal } from './matrix.js';
import type { PolicyWorld } from './world.js';

export interface AccessChange {
  readonly principal: string;
  readonly column: string;
  readonly action: string;
  readonly before: Cell;
  readonly after: Cell;
  /** A gain: allowed or conditional where it was less; a loss: the other way. */
  readonly direction: 'gain' | 'loss';
}

export interface AccessDiff {
  readonly principals: number;
  readonly columns: number;
  readonly changes: readonly AccessChange[];
}

const RANK: Readonly<Record<Access, number>> = { deny: 0, conditional: 1, allow: 2 };

function union<T extends { label: string }>(a: readonly T[], b: readonly T[]): T[] {
  const byLabel = new Map<string, T>();
  for (const x of [...a, ...b]) if (!byLabel.has(x.label)) byLabel.set(x.label, x);
  return [...byLabel.values()];
}

function sameCell(a: Cell, b: Cell): boolean {
  return a.access === b.access && a.keys.join('\n') === b.keys.join('\n') && a.conditions.join('\n') === b.conditions.join('\n');
}

/**
 * Compares two policy folders principal by principal and column by column. A change of the keys
 * a conditional grant depends on counts as a gain: the new condition may hold where the old did not.
 * So does a change of the statements with conditions that apply, where the request as sampled is
 * decided alike: another address, time or second factor may be decided otherwise.
 */
export function diffAccess(before: PolicyWorld, after: PolicyWorld, now: number): AccessDiff {
  const principals: MatrixPrincipal[] = union(matrixPrincipals(before), matrixPrincipals(after));
  const columns: MatrixColumn[] = union(matrixColumns(before), matrixColumns(after));
  const changes: AccessChange[] = [];
  for (const p of principals) {
    for (const c of columns) {
      const old = cellFor(before, p.spec, c, now);
      const neu = cellFor(after, p.spec, c, now);
      if (sameCell(old, neu)) continue;
      const direction = RANK[neu.access] >= RANK[old.access] ? 'gain' : 'loss';
      changes.push({ principal: p.label, column: c.label, action: c.action, before: old, after: neu, direction });
    }
  }
  return { principals: principals.length, columns: columns.length, changes };
}

/** Who may do each of `actions` under a policy folder (allowed or conditionally), on any resource the routes or policies name, or `*`. */
export function grantsOf(world: PolicyWorld, actions: readonly string[], now: number): { principal: string; action: string; resource: string; cell: Cell }[] {
  const resources = new Set<string>(['*']);
  for (const c of matrixColumns(world)) {
    if ('action' in c.request) resources.add(c.request.resource);
    else {
      const segments = c.request.path.split('/').slice(1);
      const match = world.routes.match(c.request.method, segments, c.request.path);
      if (match) resources.add(match.resource);
    }
  }
  const found: { principal: string; action: string; resource: string; cell: Cell }[] = [];
  for (const p of matrixPrincipals(world)) {
    for (const action of actions) {
      for (const resource of resources) {
        const cell = cellFor(world, p.spec, { label: '', action, request: { action, resource } }, now);
        if (cell.access !== 'deny') found.push({ principal: p.label, action, resource, cell });
      }
    }
  }
  return found;
}

/** A cell in words: `allowed`, `denied`, `conditional on aws:MultiFactorAuthPresent`, `allowed, depending on aws:SourceIp`. */
export function describeCell(c: Cell): string {
  if (c.access === 'conditional') return `conditional on ${c.keys.join(', ')}`;
  const word = c.access === 'allow' ? 'allowed' : 'denied';
  return c.keys.length === 0 ? word : `${word}, depending on ${c.keys.join(', ')}`;
}
