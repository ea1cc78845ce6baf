// YAML text → plain value, with syntax errors as findings that name the file, line and column.
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { describeInexactNumber, givenTwice, isExactLiteral } from '../policy/index.js';
import { finding, type Finding } from './findings.js';
import { SECRET_KEYS } from './secrets.js';

export type YamlParse = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly findings: readonly Finding[] };

/** Parses YAML (JSON is a subset) with duplicate keys refused (DUPLICATE_KEY) and other syntax errors as YAML_SYNTAX_ERROR. */
export function parseYamlText(text: string, file?: string): YamlParse {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  // The parser's warnings are refusals too: an unknown tag (`!custom x`, `!!js/function`) would
  // otherwise be read silently as the plain string after it.
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length === 0) {
    const inexact = inexactYamlNumbers(doc);
    if (inexact.length > 0) return { ok: false, findings: inexact.map(({ path, text: number }) => finding('INEXACT_NUMBER', path, inexactNumberReason(path, number), file)) };
    try {
      return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) };
    } catch (err) {
      // Aliases that would expand past the limit (a "billion laughs" file) are refused while converting.
      return { ok: false, findings: [finding('YAML_SYNTAX_ERROR', '', err instanceof Error ? err.message : String(err), file)] };
    }
  }
  const findings = problems.map((e): Finding => {
    const where = lines.linePos(e.pos[0]);
    const at = `at line ${where.line}, column ${where.col}`;
    const duplicate = e.code === 'DUPLICATE_KEY' ? duplicateKeyPath(doc, e.pos[0]) : undefined;
    if (duplicate !== undefined) return finding('DUPLICATE_KEY', duplicate, `${givenTwice(duplicate)} ${at}`, file);
    return finding(e.code === 'DUPLICATE_KEY' ? 'DUPLICATE_KEY' : 'YAML_SYNTAX_ERROR', '', `${e.message.split('\n')[0]} ${at}`, file);
  });
  return { ok: false, findings };
}

/**
 * The path (`routes[2].context.orders:Status`) of the mapping key that starts at `offset`, where
 * the YAML parser reports a key given twice only by its position ("Map keys must be unique").
 */
function duplicateKeyPath(doc: Document, offset: number): string | undefined {
  const find = (node: unknown, path: string): string | undefined => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const here = path === '' ? key : `${path}.${key}`;
        if (isScalar(pair.key) && pair.key.range?.[0] === offset) return here;
        const inside = find(pair.value, here);
        if (inside !== undefined) return inside;
      }
    } else if (isSeq(node)) {
      for (const [i, item] of node.items.entries()) {
        const inside = find(item, `${path}[${i}]`);
        if (inside !== undefined) return inside;
      }
    }
    return undefined;
  };
  return find(doc.contents, '');
}

/** Why a number at `path` is refused (INEXACT_NUMBER), without its digits under a secret key. */
export function inexactNumberReason(path: string, text: string): string {
  return SECRET_KEYS.has(path) ? 'a number a double cannot hold exactly (not shown: the key holds a secret): write it as a quoted string' : describeInexactNumber(text);
}

// YAML 1.2 core schema integers in base 8 and 16; every other number is decimal notation.
const RADIX_INTEGER = /^0[ox][0-9a-f]+$/i;

/** Whether a YAML number's text means exactly the double it was read as. */
function holdsExactly(text: string, value: number): boolean {
  if (!RADIX_INTEGER.test(text)) return isExactLiteral(text, value);
  return Number.isSafeInteger(value) || (Number.isFinite(value) && BigInt(text) === BigInt(value));
}

/**
 * The plain numbers of a YAML document that a double cannot hold (`9007199254740993`,
 * `0.10000000000000001`, `1e400`), with their paths (`users.alice.inlinePolicies.P.Statement[0]...`)
 * and text: read as doubles they would silently become other numbers, which a policy condition
 * would then compare. `.inf` and `.nan`, written as such, are what they say.
 */
function inexactYamlNumbers(doc: Document): { readonly path: string; readonly text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (node: unknown, path: string): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        walk(pair.value, path === '' ? key : `${path}.${key}`);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (isScalar(node) && typeof node.value === 'number' && typeof node.source === 'string') {
      const text = node.source;
      if (/^[-+]?\.(?:inf|nan)$/i.test(text)) return;
      if (!holdsExactly(text, node.value)) out.push({ path, text });
    }
  };
  walk(doc.contents, '');
  return out;
}
