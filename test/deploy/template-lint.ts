// Static checks of Helm (Go text/template) files that need no Helm binary: actions are closed,
// parentheses and quotes inside them balance, block keywords nest and end, and every
// `.Values.a.b` path a template reads is declared in values.yaml.

/** One `{{ ... }}` action with the line it starts on. */
export interface Action {
  readonly line: number;
  /** The text between the delimiters, trim markers (`-`) and surrounding spaces removed. */
  readonly body: string;
}

/** A problem found in a template, with its 1-based line. */
export interface TemplateProblem {
  readonly line: number;
  readonly message: string;
}

const BLOCK_OPENERS = new Set(['if', 'range', 'with', 'define', 'block']);

function lineAt(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i += 1) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/**
 * Splits a template into its actions. Problems: a `{{` never closed, a `}}` outside any action,
 * an unterminated comment or string, unbalanced parentheses inside an action.
 */
export function scanActions(text: string): { actions: Action[]; problems: TemplateProblem[] } {
  const actions: Action[] = [];
  const problems: TemplateProblem[] = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    const strayClose = text.indexOf('}}', i);
    if (strayClose !== -1 && (open === -1 || strayClose < open)) {
      problems.push({ line: lineAt(text, strayClose), message: '"}}" without a matching "{{"' });
      i = strayClose + 2;
      continue;
    }
    if (open === -1) break;
    const line = lineAt(text, open);
    const end = findActionEnd(text, open + 2);
    if (end.error !== undefined) {
      problems.push({ line, message: end.error });
      break;
    }
    const inner = text.slice(open + 2, end.index);
    const body = inner.replace(/^-\s/, '').replace(/\s-$/, '').trim();
    const parens = parenBalance(body);
    if (parens !== 0) problems.push({ line, message: `unbalanced parentheses in "{{ ${body} }}"` });
    actions.push({ line, body });
    i = end.index + 2;
  }
  return { actions, problems };
}

/** Finds the `}}` closing an action that starts at `from`, skipping strings and comments. */
function findActionEnd(text: string, from: number): { index: number; error?: string } {
  let i = from;
  while (i < text.length && (text[i] === '-' || text[i] === ' ')) i += 1;
  if (text.startsWith('/*', i)) {
    const close = text.indexOf('*/', i + 2);
    if (close === -1) return { index: -1, error: 'comment "/*" never closed' };
    const after = text.slice(close + 2).match(/^\s*-?\}\}/);
    if (after === null) return { index: -1, error: 'a comment must end with "*/}}"' };
    return { index: close + 2 + after[0].length - 2 };
  }
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"' || ch === "'") {
      const close = closingQuote(text, i, ch);
      if (close === -1) return { index: -1, error: `string starting with ${ch} never closed` };
      i = close + 1;
      continue;
    }
    if (ch === '`') {
      const close = text.indexOf('`', i + 1);
      if (close === -1) return { index: -1, error: 'raw string "`" never closed' };
      i = close + 1;
      continue;
    }
    if (ch === '{' && text[i + 1] === '{') return { index: -1, error: '"{{" inside an action' };
    if (ch === '}' && text[i + 1] === '}') return { index: i };
    i += 1;
  }
  return { index: -1, error: '"{{" never closed with "}}"' };
}

function closingQuote(text: string, start: number, quote: string): number {
  for (let i = start + 1; i < text.length; i += 1) {
    const ch = text[i];
    if (ch === '\\') i += 1;
    else if (ch === quote) return i;
    else if (ch === '\n') return -1;
  }
  return -1;
}

function parenBalance(body: string): number {
  let depth = 0;
  let i = 0;
  while (i < body.length) {
    const ch = body[i];
    if (ch === '"' || ch === "'") {
      const close = closingQuote(body, i, ch);
      i = close === -1 ? body.length : close + 1;
      continue;
    }
    if (ch === '`') {
      const close = body.indexOf('`', i + 1);
      i = close === -1 ? body.length : close + 1;
      continue;
    }
    if (ch === '(') depth += 1;
    if (ch === ')') {
      depth -= 1;
      if (depth < 0) return depth;
    }
    i += 1;
  }
  return depth;
}

function keyword(body: string): string {
  if (body.startsWith('/*')) return '';
  const match = /^([a-z]+)\b/.exec(body);
  return match?.[1] ?? '';
}

/**
 * Checks that block keywords nest: every `if`, `range`, `with`, `define` and `block` is closed by
 * `end`; `else` appears only inside `if`, `with` or `range`; `define` only at the top level.
 */
export function checkBlocks(actions: readonly Action[]): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const stack: { word: string; line: number }[] = [];
  for (const action of actions) {
    const word = keyword(action.body);
    if (BLOCK_OPENERS.has(word)) {
      if (word === 'define' && stack.length > 0) {
        problems.push({ line: action.line, message: '"define" inside another block' });
      }
      stack.push({ word, line: action.line });
    } else if (word === 'else') {
      const top = stack[stack.length - 1];
      if (top === undefined || !['if', 'with', 'range'].includes(top.word)) {
        problems.push({ line: action.line, message: '"else" outside an if, with or range block' });
      }
    } else if (word === 'end') {
      if (stack.pop() === undefined) problems.push({ line: action.line, message: '"end" without an open block' });
    }
  }
  for (const open of stack) problems.push({ line: open.line, message: `"${open.word}" never closed by "end"` });
  return problems;
}

/** Every `.Values.a.b.c` path read by a template, as dotted strings ("a.b.c"), with its line. */
export function valuesPaths(actions: readonly Action[]): { path: string; line: number }[] {
  const found: { path: string; line: number }[] = [];
  const pattern = /(?:^|[^A-Za-z0-9_])\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g;
  for (const action of actions) {
    for (const match of action.body.matchAll(pattern)) {
      const path = match[1];
      if (path !== undefined) found.push({ path: path.slice(1), line: action.line });
    }
  }
  return found;
}

/** Whether `path` ("a.b.c") names a key present in `values`, map by map. */
export function hasPath(values: unknown, path: string): boolean {
  let node: unknown = values;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
    if (!Object.prototype.hasOwnProperty.call(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

/** Every path to a leaf of `values` ("a.b.c"); empty maps and lists count as leaves. */
export function leafPaths(values: unknown, prefix = ''): string[] {
  if (values === null || typeof values !== 'object' || Array.isArray(values)) return prefix === '' ? [] : [prefix];
  const entries = Object.entries(values as Record<string, unknown>);
  if (entries.length === 0) return prefix === '' ? [] : [prefix];
  return entries.flatMap(([key, value]) => leafPaths(value, prefix === '' ? key : `${prefix}.${key}`));
}
