// Unicode look-alikes for path tests, computed over every code point rather than listed by hand, and
// the ways a character can be written in a request target (raw UTF-8 bytes, percent-encoded in
// either case, or both mixed in one character).

/** Characters whose appearance through NFKC changes what a path names (iamgate's rule, written out again here). */
export const SENSITIVE_ASCII = ['.', '/', '\\', '%', '?', '#', ';'] as const;

/** Every code point (surrogates excluded), as a string. */
function* allCodePoints(): Generator<string> {
  for (let cp = 0; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) yield String.fromCodePoint(cp);
}

function count(text: string, ch: string): number {
  return text.split(ch).length - 1;
}

export interface UnicodeClasses {
  /** Code points whose NFKC form holds more of a sensitive ASCII character than they do (`．` → `.`). */
  readonly lookalikes: readonly string[];
  /** Code points whose NFKC form differs without adding a sensitive character (`ｆ` → `f`, `ﬁ` → `fi`). */
  readonly otherChanged: readonly string[];
}

/** Sorts every code point by what NFKC does to it. */
function classify(): UnicodeClasses {
  const lookalikes: string[] = [];
  const otherChanged: string[] = [];
  for (const ch of allCodePoints()) {
    const folded = ch.normalize('NFKC');
    if (folded === ch) continue;
    if (SENSITIVE_ASCII.some((s) => count(folded, s) > count(ch, s))) lookalikes.push(ch);
    else otherChanged.push(ch);
  }
  return { lookalikes, otherChanged };
}

/** Every code point sorted by what NFKC does to it, computed when a test file first imports this. */
export const UNICODE_CLASSES: UnicodeClasses = classify();

/** `U+FF0E`: how a test names a character. */
export function codePointName(ch: string): string {
  return 'U+' + ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
}

export type Spelling = 'raw' | 'upper' | 'lower' | 'mixed';
export const SPELLINGS: readonly Spelling[] = ['raw', 'upper', 'lower', 'mixed'];

/**
 * A character as written in a request target: raw UTF-8 bytes (as latin1 text, the way a socket
 * carries them and Node hands them over), percent-encoded in upper or lower case, or mixed (the
 * first byte raw, the others encoded).
 */
export function spell(ch: string, how: Spelling): string {
  const bytes = [...Buffer.from(ch, 'utf8')];
  const enc = (b: number, lower: boolean): string => {
    const hex = '%' + b.toString(16).padStart(2, '0');
    return lower ? hex : hex.toUpperCase();
  };
  const raw = (b: number): string => String.fromCharCode(b);
  switch (how) {
    case 'raw':
      return bytes.map(raw).join('');
    case 'upper':
      return bytes.map((b) => enc(b, false)).join('');
    case 'lower':
      return bytes.map((b) => enc(b, true)).join('');
    case 'mixed':
      return bytes.map((b, i) => (i === 0 && b >= 0x80 ? raw(b) : enc(b, i % 2 === 1))).join('');
  }
}

/** Where a character is put in a path: a whole segment or inside one, first, middle or last. */
export function placements(spelled: string): readonly { readonly where: string; readonly target: string }[] {
  return [
    { where: 'first segment', target: `/${spelled}${spelled}/public/readme` },
    { where: 'middle segment', target: `/public/${spelled}${spelled}/admin/users` },
    { where: 'inside a middle segment', target: `/public/x${spelled}y/readme` },
    { where: 'last segment', target: `/public/readme${spelled}` },
  ];
}
