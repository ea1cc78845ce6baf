// YAML text → plain value, with syntax errors as findings that name the file, line and column.
import { LineCounter, parseDocument } from 'yaml';
import { finding, type Finding } from './findings.js';

export type YamlParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly findings: readonly Finding[] };

/** Parses YAML (JSON is a subset) with duplicate keys refused (DUPLICATE_KEY) and other syntax errors as YAML_SYNTAX_ERROR. */
export function parseYamlText(text: string, file?: string): YamlParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length === 0) return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  const findings = doc.errors.map((e): Finding => {
    const where = lines.linePos(e.pos[0]);
    const message = `${e.message.split('\n')[0]} (line ${where.line}, column ${where.col})`;
    return finding(e.code === 'DUPLICATE_KEY' ? 'DUPLICATE_KEY' : 'YAML_SYNTAX_ERROR', '', message, file);
  });
  return { ok: false, findings };
}
