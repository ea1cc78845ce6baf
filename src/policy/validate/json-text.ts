// A strict JSON reader for policy text: the same values as JSON.parse, plus what JSON.parse
// hides: where a syntax error is (line and column), keys an object names twice (JSON.parse
// silently keeps the last, other readers keep the first: an ambiguous policy is refused), and
// numbers a double cannot hold (9007199254740993 would silently become 9007199254740992).
import { compareDecimals, toDecimal } from '../conditions/numbers.js';
import type { Json } from '../types.js';

export interface JsonSyntaxError {
  readonly message: string;
  /** 1-based line and column of the offending character. */
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export interface JsonTextResult {
  readonly value?: Json;
  readonly error?: JsonSyntaxError;
  /** JSON paths (policy style: `Statement[0].Effect`) of keys that repeat within their object. */
  readonly duplicateKeys: readonly string[];
  /** JSON paths of numbers whose value a double does not hold exactly, with the number as written. */
  readonly inexactNumbers: readonly { readonly path: string; readonly text: string }[];
}

/** The finding message for a key given twice (DUPLICATE_KEY), the same in JSON and YAML files. */
export function givenTwice(path: string): string {
  return `"${path}" is given more than once, so its meaning is ambiguous`;
}

/** The finding message for a number a double does not hold exactly (INEXACT_NUMBER). */
export function describeInexactNumber(text: string): string {
  return `${text} is beyond what a JSON number holds exactly here: write it as a string, "${text}"`;
}

/**
 * Whether a number literal in decimal notation (JSON's, or YAML's, which may also start with `+`
 * or `.`) means the same decimal as the shortest form of the double it was read as.
 */
export function isExactLiteral(literal: string, value: number): boolean {
  return Number.isFinite(value) && compareDecimals(toDecimal(literal), toDecimal(String(value))) === 0;
}

const MAX_DEPTH = 64;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

class SyntaxFault {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** What the reader found at `at`, with the JSON rule it breaks for the slips people make by hand. */
function describe(text: string, at: number): string {
  if (at >= text.length) return 'unexpected end of input';
  const ch = text[at];
  const found = `unexpected character ${JSON.stringify(ch)}`;
  if (ch === "'") return `${found} (JSON quotes keys and strings with double quotes)`;
  if (ch === '/' && (text[at + 1] === '/' || text[at + 1] === '*')) return `${found} (JSON has no comments)`;
  return found;
}

function locate(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

function joinPath(parent: string, key: string): string {
  return parent === '' ? key : `${parent}.${key}`;
}

/** Reads JSON text; never throws. A leading byte-order mark is ignored. */
export function readJsonText(source: string): JsonTextResult {
  const text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  const duplicateKeys: string[] = [];
  const inexactNumbers: { path: string; text: string }[] = [];
  let pos = 0;

  const skipSpace = (): void => {
    WHITESPACE.lastIndex = pos;
    WHITESPACE.exec(text);
    pos = WHITESPACE.lastIndex;
  };
  const expect = (ch: string, what: string): void => {
    skipSpace();
    if (text[pos] !== ch) throw new SyntaxFault(pos, `${describe(text, pos)}, expected ${what}`);
    pos++;
  };
  const readString = (): string => {
    STRING.lastIndex = pos;
    const m = STRING.exec(text);
    if (!m) throw new SyntaxFault(pos, 'malformed string (unescaped control character, bad escape, or missing quote)');
    pos = STRING.lastIndex;
    return JSON.parse(m[0]) as string;
  };
  const readLiteral = (word: string, value: Json): Json => {
    if (!text.startsWith(word, pos)) throw new SyntaxFault(pos, `${describe(text, pos)}, expected a value`);
    pos += word.length;
    return value;
  };

  // Steps over the comma at `comma`; a comma the container's end follows is the commonest slip in
  // a hand-edited policy, so it is named as such, with the element it follows, at the closing
  // character where the reader stops, as for any unexpected character.
  const trailingComma = (comma: number, close: string, after: string): void => {
    pos = comma + 1;
    skipSpace();
    if (text[pos] === close) throw new SyntaxFault(pos, `a trailing comma after ${after}: JSON allows no comma before "${close}"`);
  };

  const readValue = (path: string, depth: number): Json => {
    if (depth > MAX_DEPTH) throw new SyntaxFault(pos, `nesting deeper than ${MAX_DEPTH} levels`);
    skipSpace();
    const ch = text[pos];
    if (ch === '{') return readObject(path, depth);
    if (ch === '[') return readArray(path, depth);
    if (ch === '"') return readString();
    if (ch === 't') return readLiteral('true', true);
    if (ch === 'f') return readLiteral('false', false);
    if (ch === 'n') return readLiteral('null', null);
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) throw new SyntaxFault(pos, `${describe(text, pos)}, expected a value`);
    pos = NUMBER.lastIndex;
    const value = Number(m[0]);
    if (!isExactLiteral(m[0], value)) inexactNumbers.push({ path, text: m[0] });
    return value;
  };

  const readObject = (path: string, depth: number): Json => {
    pos++; // {
    // Own properties only: a key such as "__proto__" stays an ordinary key, as with JSON.parse.
    const out: Record<string, Json> = {};
    skipSpace();
    if (text[pos] === '}') {
      pos++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (text[pos] !== '"') throw new SyntaxFault(pos, `${describe(text, pos)}, expected a quoted key`);
      const key = readString();
      if (Object.hasOwn(out, key)) duplicateKeys.push(joinPath(path, key));
      expect(':', '":"');
      const value = readValue(joinPath(path, key), depth + 1);
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      skipSpace();
      if (text[pos] === ',') {
        trailingComma(pos, '}', joinPath(path, key));
        continue;
      }
      expect('}', '"," or "}"');
      return out;
    }
  };

  const readArray = (path: string, depth: number): Json => {
    pos++; // [
    const out: Json[] = [];
    skipSpace();
    if (text[pos] === ']') {
      pos++;
      return out;
    }
    for (;;) {
      out.push(readValue(`${path}[${out.length}]`, depth + 1));
      skipSpace();
      if (text[pos] === ',') {
        trailingComma(pos, ']', `${path}[${out.length - 1}]`);
        continue;
      }
      expect(']', '"," or "]"');
      return out;
    }
  };

  try {
    const value = readValue('', 0);
    skipSpace();
    if (pos < text.length) throw new SyntaxFault(pos, `${describe(text, pos)} after the end of the document`);
    return { value, duplicateKeys, inexactNumbers };
  } catch (err) {
    if (!(err instanceof SyntaxFault)) throw err;
    const { line, column } = locate(text, err.offset);
    return { error: { message: err.message, line, column, offset: err.offset }, duplicateKeys, inexactNumbers };
  }
}
