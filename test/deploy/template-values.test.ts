// The templates and values.yaml agree: every `.Values.x.y` a template reads is declared (and
// documented) in values.yaml, and every value in values.yaml is read by some template.
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chartDir, defaultValues, readText, templateFiles } from './chart.js';
import { hasPath, leafPaths, scanActions, valuesPaths } from './template-lint.js';

const values = defaultValues();
const used = templateFiles().flatMap((path) =>
  valuesPaths(scanActions(readText(path)).actions).map((use) => ({ ...use, file: basename(path) })),
);

describe('the values-path checker', () => {
  it('finds .Values and $.Values paths, but not fields of other objects', () => {
    const { actions } = scanActions('{{ .Values.a.b }}{{ $.Values.c }}{{ $x.Values.d }}{{ .Chart.Values }}');
    expect(valuesPaths(actions).map((u) => u.path)).toEqual(['a.b', 'c']);
  });

  it('tells declared paths from missing ones', () => {
    expect(hasPath({ a: { b: '' } }, 'a.b')).toBe(true);
    expect(hasPath({ a: { b: '' } }, 'a.c')).toBe(false);
    expect(hasPath({ a: 'x' }, 'a.b')).toBe(false);
  });
});

describe('templates and values.yaml', () => {
  it('the templates read values at all', () => {
    expect(used.length).toBeGreaterThan(50);
  });

  it('every .Values path used in a template exists in values.yaml', () => {
    const missing = used.filter((use) => !hasPath(values, use.path)).map((u) => `${u.file}:${u.line} .Values.${u.path}`);
    expect(missing).toEqual([]);
  });

  it('every value in values.yaml is read by a template (itself or a map containing it)', () => {
    const read = new Set(used.map((u) => u.path));
    const covered = (path: string): boolean => {
      const parts = path.split('.');
      for (let n = parts.length; n > 0; n -= 1) if (read.has(parts.slice(0, n).join('.'))) return true;
      return false;
    };
    expect(leafPaths(values).filter((path) => !covered(path))).toEqual([]);
  });

  it('every value in values.yaml is commented, itself or as part of a commented map', () => {
    const lines = readText(join(chartDir, 'values.yaml')).split('\n');
    const ancestors: { indent: number; documented: boolean }[] = [];
    const undocumented: string[] = [];
    lines.forEach((line, index) => {
      const key = /^( *)([A-Za-z][A-Za-z0-9]*):/.exec(line);
      if (key === null) return;
      const indent = key[1]?.length ?? 0;
      while ((ancestors[ancestors.length - 1]?.indent ?? -1) >= indent) ancestors.pop();
      const commented = (lines[index - 1] ?? '').trim().startsWith('#') || line.includes(' # ');
      const documented = commented || ancestors.some((a) => a.documented);
      if (!documented) undocumented.push(`${index + 1}: ${line.trim()}`);
      ancestors.push({ indent, documented });
    });
    expect(undocumented).toEqual([]);
  });
});
