// JUnit XML for CI systems: one testsuite per suite file, one testcase per case, a failure
// element (message and explanation) for each case that failed.
import { unicodeEscape } from '../config/findings.js';
import type { CaseResult } from './run.js';

// Characters XML 1.0 has no form for, not even a character reference: one would leave the whole
// report unreadable to the CI that is to show its failures. They are written as `\u001b` escapes.
const NOT_IN_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

function xml(text: string): string {
  return text
    .replace(NOT_IN_XML, unicodeEscape)
    .replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c] as string};`);
}

/** Renders results as a JUnit `testsuites` document. */
export function junitReport(results: readonly CaseResult[]): string {
  const byFile = new Map<string, CaseResult[]>();
  for (const r of results) byFile.set(r.file, [...(byFile.get(r.file) ?? []), r]);
  const failed = results.filter((r) => !r.passed).length;
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="iamgate policy tests" tests="${results.length}" failures="${failed}">`];
  for (const [file, cases] of byFile) {
    const f = cases.filter((r) => !r.passed).length;
    lines.push(`  <testsuite name="${xml(file)}" tests="${cases.length}" failures="${f}">`);
    for (const c of cases) {
      const open = `    <testcase name="${xml(c.name)}" classname="${xml(file)}"`;
      if (c.passed) {
        lines.push(`${open}/>`);
        continue;
      }
      const detail = [...c.failures, ...(c.actual?.explanation ?? [])].join('\n');
      lines.push(`${open}>`, `      <failure message="${xml(c.failures[0] ?? 'failed')}">${xml(detail)}</failure>`, '    </testcase>');
    }
    lines.push('  </testsuite>');
  }
  lines.push('</testsuites>');
  return `${lines.join('\n')}\n`;
}
