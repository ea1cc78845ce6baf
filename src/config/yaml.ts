// YAML text → plain value, with syntax errors as findings that name the file, line and column.
import { LineCounter, parseDocument } from 'yaml';
import type { Finding } from '../policy/types.js';

export type YamlParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly findings: readonly Finding[] };

/** Parses YAML (JSON is a subset) with duplicate keys refused; `code` names the finding on a syntax error. */
export function parseYamlText(text: string, code: string, file?: string): YamlParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length === 0) return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
  const findings = doc.errors.map((e): Finding => {
    const where = lines.linePos(e.pos[0]);
    const message = `${e.message.split('\n')[0]} (line ${where.line}, column ${where.col})`;
    return file === undefined ? { severity: 'error', code, path: '', message } : { severity: 'error', code, path: '', message, file };
  });
  return { ok: false, findings };
}
