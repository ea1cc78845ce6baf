// Loads a directory file (YAML, or JSON, which is YAML too) and the managed policy files it
// names, reporting every problem at once, then compiles it. Nothing partial is ever returned: a
// directory with any error yields findings and no directory.
import { dirname, isAbsolute, join } from 'node:path';
import { fileErrorReason, readTextFile, readTextFileSync } from '../config/index.js';
import { FileReader } from '../config/reader.js';
import { parseYamlText } from '../config/yaml.js';
import { parsePolicy, type Finding } from '../policy/index.js';
import { buildDirectory, type ManagedDocument } from './build.js';
import { readDirectoryDocument, type ManagedPolicyModel } from './document.js';
import type { Directory } from './types.js';

/**
 * Reads the managed policy documents kept in files (paths relative to the directory file) and
 * collects those given inline. Synchronous: a handful of small files, read at load time only.
 */
function readManagedPolicies(policies: readonly ManagedPolicyModel[], directoryFile: string, out: FileReader): Map<string, ManagedDocument> {
  const managed = new Map<string, ManagedDocument>();
  const base = dirname(directoryFile);
  for (const p of policies) {
    if (p.inline) {
      if (p.inline.parsed) managed.set(p.name, { document: p.inline.document, parsed: p.inline.parsed });
      continue;
    }
    if (p.file === undefined) continue;
    const file = isAbsolute(p.file) ? p.file : join(base, p.file);
    let text: string;
    try {
      text = readTextFileSync(file);
    } catch (err) {
      out.add('FILE_UNREADABLE', `policies.${p.name}.file`, `cannot read ${file}: ${fileErrorReason(err)}`);
      continue;
    }
    const { policy, findings } = parsePolicy(text, { file, kind: 'identity' });
    out.include(findings);
    if (policy) managed.set(p.name, { document: JSON.parse(text) as unknown, parsed: policy, file });
  }
  return managed;
}

/** Checks a parsed directory document and the policy files it names (`iamgate validate`). */
export function validateDirectoryFile(doc: unknown, file: string): Finding[] {
  const out = new FileReader(file);
  const { draft, findings } = readDirectoryDocument(doc, file);
  out.include(findings);
  readManagedPolicies(draft?.policies ?? [], file, out);
  return out.findings;
}

/**
 * The user names of a directory file, read without its policy files (a development token needs
 * the user, not valid policies). `users` is unset when the file cannot be read as a directory.
 */
export async function readDirectoryUsers(path: string): Promise<{ users?: readonly string[]; findings: Finding[] }> {
  const out = new FileReader(path);
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (err) {
    out.add('FILE_UNREADABLE', '', `cannot read ${path}: ${fileErrorReason(err)}`);
    return { findings: out.findings };
  }
  const yaml = parseYamlText(text, path);
  if (!yaml.ok) return { findings: [...yaml.findings] };
  const { draft, findings } = readDirectoryDocument(yaml.value, path);
  return draft ? { users: draft.users.map((u) => u.name), findings } : { findings };
}

/** Loads, checks and compiles a directory file. `directory` is set only when there is no error. */
export async function loadDirectory(path: string): Promise<{ directory?: Directory; findings: Finding[] }> {
  const out = new FileReader(path);
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (err) {
    out.add('FILE_UNREADABLE', '', `cannot read ${path}: ${fileErrorReason(err)}`);
    return { findings: out.findings };
  }
  const yaml = parseYamlText(text, path);
  if (!yaml.ok) return { findings: [...yaml.findings] };
  const { model, draft, findings } = readDirectoryDocument(yaml.value, path);
  out.include(findings);
  // Policy files are read even when the directory has errors, so every problem shows at once.
  const managed = readManagedPolicies(draft?.policies ?? [], path, out);
  if (!model || out.hasErrors()) return { findings: out.findings };
  return { directory: buildDirectory(model, managed, path), findings: out.findings };
}
