// What a header name means to the proxy depends only on the name and the configuration, so it is
// worked out once per spelling and remembered. Names are caller- and upstream-controlled: the memo
// holds at most a fixed number of short names, and any other name is simply worked out each time.

/** Longest name remembered; every header name a real client sends is shorter. */
const MAX_REMEMBERED_NAME = 64;
/** Most spellings remembered per memo (a flood of made-up names cannot grow it further). */
const MAX_REMEMBERED = 1024;

/** Remembers `classify(name.toLowerCase())` per header name as sent (its case kept), within fixed bounds. */
export class NameMemo<T> {
  private readonly known = new Map<string, T>();

  constructor(private readonly classify: (lower: string) => T) {}

  /** The class of a header name as it arrived. */
  of(name: string): T {
    const known = this.known.get(name);
    if (known !== undefined) return known;
    const value = this.classify(name.toLowerCase());
    if (name.length <= MAX_REMEMBERED_NAME && this.known.size < MAX_REMEMBERED) this.known.set(name, value);
    return value;
  }
}
