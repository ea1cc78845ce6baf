// Loads a directory file (YAML, or JSON, which is YAML too) and the managed policy files it
// names, reporting every problem at once, then compiles it. Nothing partial is ever returned: a
// directory with any error yields findings and no directory.
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { parseDocument } from 'yaml';
import { parsePolicy, type Finding } from '../policy/index.js';
import { buildDirectory, type ManagedDocument } from './build.js';
import { readDirectoryDocument } from './document.js';
import { FindingList } from './findings.js';
import type { Directory } from './types.js';

/** Parses YAML text into a value, with syntax errors (and duplicate keys) as findings. */
export function parseYamlText(text: string, file?: string): { value: unknown; findings: Finding[] } {
  const out = new FindingList(file);
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  for (const err of doc.errors) {
    const pos = err.linePos?.[0];
    out.add('YAML_SYNTAX_ERROR', '', pos ? `${err.message.split('\n')[0]} (line ${pos.line}, column ${pos.col})` : err.message);
  }
  return { value: doc.errors.length > 0 ? undefined : doc.toJS(), findings: out.findings };
}

/** Reads the managed policy documents kept in files, relative to the directory file. */
async function readManagedFiles(
  policies: readonly { name: string; file?: string; inline?: { document: unknown; parsed: ManagedDocument['parsed'] | undefined } }[],
  directoryFile: string,
  out: FindingList,
): Promise<Map<string, ManagedDocument>> {
  const managed = new Map<string, ManagedDocument>();
  const base = dirname(directoryFile);
  await Promise.all(
    policies.map(async (p) => {
      if (p.inline) {
        if (p.inline.parsed) managed.set(p.name, { document: p.inline.document, parsed: p.inline.parsed });
        return;
      }
      if (p.file === undefined) return;
      const file = isAbsolute(p.file) ? p.file : join(base, p.file);
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        out.add('POLICY_FILE_UNREADABLE', `policies.${p.name}.file`, `cannot read ${file}: ${(err as Error).message}`);
        return;
      }
      const { policy, findings } = parsePolicy(text, { file, kind: 'identity' });
      out.findings.push(...findings);
      if (policy) managed.set(p.name, { document: JSON.parse(text) as unknown, parsed: policy, file });
    }),
  );
  return managed;
}

/** Loads, checks and compiles a directory file. `directory` is set only when there is no error. */
export async function loadDirectory(path: string): Promise<{ directory?: Directory; findings: Finding[] }> {
  const out = new FindingList(path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    out.add('POLICY_FILE_UNREADABLE', '', `cannot read ${path}: ${(err as Error).message}`);
    return { findings: out.findings };
  }
  const yaml = parseYamlText(text, path);
  if (yaml.findings.length > 0) return { findings: yaml.findings };
  const { model, draft, findings } = readDirectoryDocument(yaml.value, path);
  out.findings.push(...findings);
  // Managed policy files are read even when the directory has errors, so every problem shows at once.
  const managed = await readManagedFiles(draft?.policies ?? [], path, out);
  if (!model || out.hasErrors()) return { findings: out.findings };
  return { directory: buildDirectory(model, managed, path), findings: out.findings };
}
