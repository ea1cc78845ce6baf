// Every template's actions are closed and its blocks nest, checked without a Helm binary.
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readText, templateFiles } from './chart.js';
import { checkBlocks, scanActions } from './template-lint.js';

function problems(text: string): string[] {
  const scanned = scanActions(text);
  return [...scanned.problems, ...checkBlocks(scanned.actions)].map((p) => `line ${p.line}: ${p.message}`);
}

describe('the template checker', () => {
  it('passes a well-formed template with comments, strings, else and nested blocks', () => {
    const text = [
      '{{- /* a comment with }} inside */}}',
      '{{- define "x" -}}',
      '{{- if .Values.a }}{{ printf "%s}}" (quote .Values.b) }}{{- else if .c }}c{{- else }}d{{- end }}',
      '{{- range $k, $v := .Values.m }}{{ $k }}{{- end }}',
      '{{- end }}',
    ].join('\n');
    expect(problems(text)).toEqual([]);
  });

  it.each([
    ['an if never closed', '{{- if .Values.a }}\nx: 1\n', '"if" never closed'],
    ['an end too many', '{{- if .a }}{{ end }}\n{{- end }}', '"end" without an open block'],
    ['a missing closing brace', 'x: {{ .Values.a }\n', 'never closed'],
    ['a stray closing brace', 'x: .Values.a }}\n', 'without a matching'],
    ['unbalanced parentheses', '{{ include "x" (dict "a" 1 }}', 'unbalanced parentheses'],
    ['an else outside a block', '{{ else }}', '"else" outside'],
    ['a define inside an if', '{{ if .a }}{{ define "x" }}{{ end }}{{ end }}', '"define" inside'],
    ['an unterminated comment', '{{/* comment }}', 'never closed'],
    ['an unterminated string', '{{ printf "%s }}', 'never closed'],
  ])('reports %s', (_name, text, message) => {
    expect(problems(text).join('\n')).toContain(message);
  });
});

describe.each(templateFiles().map((path) => [basename(path), path]))('template %s', (_name, path) => {
  it('has balanced braces, parentheses and quotes, and every block closed by end', () => {
    expect(problems(readText(path))).toEqual([]);
  });
});
