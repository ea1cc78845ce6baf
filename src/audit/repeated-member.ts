// A record line that names a member twice in one object says two things: JSON.parse, and so the
// hash `audit verify` recomputes, keeps the last value, while other readers of the trail keep the
// first (or refuse the line). The writer never repeats a member, so a line that does was edited,
// even when the value its hash covers is the genuine one.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/**
 * The first member name `json` repeats within one object, or undefined; `parsed` is JSON.parse's
 * reading of it. The writer's lines are what JSON.stringify writes of their reading, which a line
 * repeating a member never is, so only a line written otherwise (a pipeline that reformatted it,
 * or an edit) is scanned: scanning every line tripled `audit verify`'s time (50,000 records).
 */
export function repeatedMember(json: string, parsed: unknown): string | undefined {
  return JSON.stringify(parsed) === json ? undefined : scanForRepeatedMember(json);
}

/** The first member name `json` (text JSON.parse accepts) repeats within one object, or undefined. */
export function scanForRepeatedMember(json: string): string | undefined {
  // One entry per open container: the names an object has had so far, undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  const n = json.length;
  let i = 0;
  while (i < n) {
    const c = json.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (end < n && json.charCodeAt(end) !== QUOTE) {
        if (json.charCodeAt(end) === BACKSLASH) {
          escaped = true;
          end++;
        }
        end++;
      }
      let next = end + 1;
      while (next < n && isSpace(json.charCodeAt(next))) next++;
      const names = open.at(-1);
      // In valid JSON only a member name is followed by a colon.
      if (names !== undefined && json.charCodeAt(next) === COLON) {
        const name = escaped ? (JSON.parse(json.slice(i, end + 1)) as string) : json.slice(i + 1, end);
        if (names.has(name)) return name;
        names.add(name);
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b) open.push(new Set());
    else if (c === 0x5b) open.push(undefined);
    else if (c === 0x7d || c === 0x5d) open.pop();
    i++;
  }
  return undefined;
}
