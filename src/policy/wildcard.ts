// Wildcard patterns (`*` any run of characters, `?` exactly one character), compiled once into
// matchers whose running time is linear in the input whatever the pattern: no RegExp and no
// backtracking. A pattern is split at its `*`s into fixed-length segments; the first segment is
// anchored at the start, the last at the end, and each segment in between is found leftmost by a
// bit-parallel (shift-and) scan, which is optimal for `*` and never looks back.
//
// Characters are Unicode code points: `?` matches one code point, a surrogate pair included.
// Case folding (for `ignoreCase`) folds each code point on its own (`foldCodePoint`).

import { hasTextAt } from './prefix.js';

/** A pattern unit for a single unknown character (`?`). Literal units are code points (>= 0). */
export const ANY_ONE = -1;
/** A pattern unit for any run of characters (`*`), the empty run included. */
export const ANY_RUN = -2;

/** A compiled pattern as units: code points, `ANY_ONE` and `ANY_RUN`. */
export type PatternUnits = readonly number[];

/** Tests whether `s.slice(from, to)` matches, without slicing. */
export type RangeMatcher = (s: string, from: number, to: number) => boolean;

const COLON = 0x3a;

/** Turns pattern text into units: `*` and `?` are wildcards, every other code point is literal. */
export function wildcardUnits(pattern: string, out: number[] = []): number[] {
  for (let i = 0; i < pattern.length; ) {
    const cp = pattern.codePointAt(i) ?? 0;
    i += cp > 0xffff ? 2 : 1;
    out.push(cp === 0x2a ? ANY_RUN : cp === 0x3f ? ANY_ONE : cp);
  }
  return out;
}

/** Turns text into literal units only (`*` and `?` stay plain characters). */
export function literalUnits(text: string, out: number[] = []): number[] {
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i) ?? 0;
    i += cp > 0xffff ? 2 : 1;
    out.push(cp);
  }
  return out;
}

/**
 * Splits units at literal colons into at most `max` parts (the last part keeps its colons). Items
 * other than numbers (such as policy variables) are carried along and never split.
 */
export function splitUnitsAtColons<T extends number | object>(units: readonly T[], max: number): T[][] {
  const parts: T[][] = [];
  let start = 0;
  for (let i = 0; i < units.length && parts.length < max - 1; i++) {
    if (units[i] === COLON) {
      parts.push(units.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(units.slice(start));
  return parts;
}

/** The one code point `text` holds, or -1 when it holds more (or none). */
function single(text: string): number {
  const cp = text.codePointAt(0) ?? -1;
  return text.length === (cp > 0xffff ? 2 : 1) ? cp : -1;
}

/**
 * Folds the case of one code point as Unicode simple case folding does (ASCII by arithmetic, other
 * scripts through the runtime as the lower case of the upper case, so `ς`, `σ` and `Σ` fold alike,
 * as do the Kelvin sign and `k`). A code point whose case mapping is several code points keeps its
 * own lower case (`ß` is not `ss`). The Turkic dotted and dotless I (`İ`, `ı`) fold to themselves,
 * as outside Turkic locales: neither can pass for `i` or `I`.
 */
export function foldCodePoint(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  if (cp === 0x130 || cp === 0x131) return cp;
  const char = String.fromCodePoint(cp);
  const upper = single(char.toUpperCase());
  const viaUpper = upper < 0 ? -1 : single(String.fromCodePoint(upper).toLowerCase());
  if (viaUpper >= 0) return viaUpper;
  const lower = single(char.toLowerCase());
  return lower >= 0 ? lower : cp;
}

/** The code point starting at `i`, not reaching past `to` (a pair cut by `to` counts as its first half). */
function codePointBefore(s: string, i: number, to: number): number {
  const cp = s.codePointAt(i) ?? 0;
  return cp > 0xffff && i + 1 >= to ? s.charCodeAt(i) : cp;
}

function width(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/** Matches `seg` at `from`; returns where the match ends, or -1. */
function matchForward(seg: Int32Array, fold: boolean, s: string, from: number, to: number): number {
  let i = from;
  for (let k = 0; k < seg.length; k++) {
    if (i >= to) return -1;
    let cp = codePointBefore(s, i, to);
    i += width(cp);
    const want = seg[k] as number;
    if (want === ANY_ONE) continue;
    if (fold) cp = foldCodePoint(cp);
    if (cp !== want) return -1;
  }
  return i;
}

/** Matches `seg` so that it ends at `to`, starting no earlier than `from`; returns its start, or -1. */
function matchBackward(seg: Int32Array, fold: boolean, s: string, from: number, to: number): number {
  let j = to;
  for (let k = seg.length - 1; k >= 0; k--) {
    if (j <= from) return -1;
    let cp = s.charCodeAt(j - 1);
    if (cp >= 0xdc00 && cp <= 0xdfff && j - 2 >= from) {
      const hi = s.charCodeAt(j - 2);
      if (hi >= 0xd800 && hi <= 0xdbff) {
        cp = (hi - 0xd800) * 0x400 + (cp - 0xdc00) + 0x10000;
        j--;
      }
    }
    j--;
    const want = seg[k] as number;
    if (want === ANY_ONE) continue;
    if (fold) cp = foldCodePoint(cp);
    if (cp !== want) return -1;
  }
  return j;
}

/** Finds the leftmost occurrence of a segment in a range; returns where it ends, or -1. */
type SegmentFinder = (s: string, from: number, to: number) => number;

/**
 * Shift-and search: bit k of the state says "the last k+1 characters match the segment's first
 * k+1 units". One pass, one mask lookup per character, one machine word per 32 units.
 */
function compileFinder(seg: Int32Array, fold: boolean): SegmentFinder {
  const len = seg.length;
  const words = Math.ceil(len / 32);
  const anyMask = new Uint32Array(words);
  seg.forEach((u, k) => {
    if (u === ANY_ONE) anyMask[k >>> 5] = ((anyMask[k >>> 5] as number) | (1 << (k & 31))) >>> 0;
  });
  const masks = new Map<number, Uint32Array>();
  seg.forEach((u, k) => {
    if (u === ANY_ONE) return;
    let mask = masks.get(u);
    if (!mask) {
      mask = anyMask.slice();
      masks.set(u, mask);
    }
    mask[k >>> 5] = ((mask[k >>> 5] as number) | (1 << (k & 31))) >>> 0;
  });
  const lastWord = (len - 1) >>> 5;
  const lastBit = 1 << ((len - 1) & 31);

  if (words === 1) {
    const single = new Map<number, number>();
    const anySingle = anyMask[0] as number;
    const ascii = new Int32Array(0x80).fill(anySingle); // the common case without a map lookup
    for (const [cp, mask] of masks) {
      if (cp < 0x80) ascii[cp] = mask[0] as number;
      else single.set(cp, mask[0] as number);
    }
    return (s, from, to) => {
      let state = 0;
      for (let i = from; i < to; ) {
        let cp = codePointBefore(s, i, to);
        i += width(cp);
        if (fold) cp = foldCodePoint(cp);
        state = ((state << 1) | 1) & (cp < 0x80 ? (ascii[cp] as number) : (single.get(cp) ?? anySingle));
        if ((state & lastBit) !== 0) return i;
      }
      return -1;
    };
  }

  const state = new Uint32Array(words); // scratch, owned by this matcher; matching is synchronous
  return (s, from, to) => {
    // Each character costs a step per word of the segment: a range too short to hold the segment
    // is refused unread, so the work is at most the range's length squared over 32, whatever the
    // segment's length.
    if (to - from < len) return -1;
    state.fill(0);
    for (let i = from; i < to; ) {
      let cp = codePointBefore(s, i, to);
      i += width(cp);
      if (fold) cp = foldCodePoint(cp);
      const mask = masks.get(cp) ?? anyMask;
      let carry = 1;
      for (let w = 0; w < words; w++) {
        const cur = state[w] as number;
        state[w] = ((cur << 1) | carry) & (mask[w] as number);
        carry = cur >>> 31;
      }
      if (((state[lastWord] as number) & lastBit) !== 0) return i;
    }
    return -1;
  };
}

function toSegment(units: PatternUnits, fold: boolean): Int32Array {
  return Int32Array.from(units, (u) => (fold && u >= 0 ? foldCodePoint(u) : u));
}

/**
 * The segment as plain text when it can be compared as text (`hasTextAt`): no `?`, no case
 * folding, no surrogate code points (so code units and code points agree).
 */
function plainText(seg: Int32Array, fold: boolean): string | undefined {
  if (fold || seg.some((u) => u === ANY_ONE || (u >= 0xd800 && u <= 0xdfff))) return undefined;
  return String.fromCodePoint(...seg);
}

/** Matches a segment anchored at `from`; returns where it ends, or -1. */
function compileStart(seg: Int32Array, fold: boolean): SegmentFinder {
  const text = plainText(seg, fold);
  if (text === undefined) return (s, from, to) => matchForward(seg, fold, s, from, to);
  const len = text.length;
  return (s, from, to) => (from + len <= to && hasTextAt(s, text, from) ? from + len : -1);
}

/** Matches a segment anchored at `to`, starting no earlier than `from`; returns its start, or -1. */
function compileEnd(seg: Int32Array, fold: boolean): SegmentFinder {
  const text = plainText(seg, fold);
  if (text === undefined) return (s, from, to) => matchBackward(seg, fold, s, from, to);
  const len = text.length;
  return (s, from, to) => (to - len >= from && hasTextAt(s, text, to - len) ? to - len : -1);
}

/** Compiles pattern units into a range matcher. Compile once; the matcher allocates nothing. */
export function compileUnits(units: PatternUnits, ignoreCase: boolean): RangeMatcher {
  const segments: Int32Array[] = [];
  let current: number[] = [];
  for (const u of units) {
    if (u === ANY_RUN) {
      segments.push(toSegment(current, ignoreCase));
      current = [];
    } else current.push(u);
  }
  segments.push(toSegment(current, ignoreCase));

  const first = segments[0] as Int32Array;
  if (segments.length === 1) {
    const whole = compileStart(first, ignoreCase);
    return (s, from, to) => whole(s, from, to) === to;
  }
  const last = segments[segments.length - 1] as Int32Array;
  const middle = segments.slice(1, -1).filter((seg) => seg.length > 0);
  if (first.length === 0 && last.length === 0 && middle.length === 0) return () => true;
  const start = first.length > 0 ? compileStart(first, ignoreCase) : undefined;
  const end = last.length > 0 ? compileEnd(last, ignoreCase) : undefined;
  const finders = middle.map((seg) => compileFinder(seg, ignoreCase));
  // Code points the pattern needs at least, each one UTF-16 unit at least: a shorter range is refused unread.
  const leastUnits = segments.reduce((sum, seg) => sum + seg.length, 0);

  return (s, from, to) => {
    if (to - from < leastUnits) return false;
    let pos = from;
    if (start) {
      pos = start(s, from, to);
      if (pos < 0) return false;
    }
    let limit = to;
    if (end) {
      limit = end(s, pos, to);
      if (limit < 0) return false;
    }
    for (let k = 0; k < finders.length; k++) {
      pos = (finders[k] as SegmentFinder)(s, pos, limit);
      if (pos < 0) return false;
    }
    return true;
  };
}

/** Compiles a `*`/`?` pattern (actions, StringLike values) into a linear-time matcher. */
export function compileWildcard(pattern: string, ignoreCase: boolean): (s: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*') && !pattern.includes('?') && !ignoreCase) return (s) => s === pattern;
  const match = compileUnits(wildcardUnits(pattern), ignoreCase);
  return (s) => match(s, 0, s.length);
}

/** Compares two strings code point by code point, case-folded, without building new strings. */
export function equalsIgnoreCase(a: string, b: string): boolean {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(j) ?? 0;
    if (x !== y && foldCodePoint(x) !== foldCodePoint(y)) return false;
    i += width(x);
    j += width(y);
  }
  return i === a.length && j === b.length;
}
