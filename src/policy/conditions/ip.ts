// IP addresses and CIDR blocks for IpAddress / NotIpAddress. Addresses are read by hand into a
// reusable word buffer, so testing a request's address allocates nothing.
//
// IPv4 and IPv6 are separate families: an IPv4 block only contains IPv4 addresses and an IPv6
// block only IPv6 addresses (so `::/0` does not contain 10.0.0.1). An IPv4-mapped IPv6 address
// (`::ffff:10.0.0.1`) is the IPv4 address it maps, both in requests and in policy blocks
// (`::ffff:10.0.0.0/104` is `10.0.0.0/8`). A plain address is a /32 or /128 block. Host bits
// under the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`). Zone indexes (`fe80::1%eth0`),
// brackets, and IPv4 octets or prefix lengths with leading zeros are rejected.

export type IpFamily = 4 | 6;

/** Reads addresses into `words` (IPv4 in words[0]; IPv6 as four 32-bit words, most significant first). */
export interface IpReader {
  readonly words: Uint32Array;
  /** Whether the last address read was IPv4-mapped IPv6 text. */
  mapped: boolean;
  /** Reads `s.slice(from, to)`; returns its family, or 0 when it is not an address. */
  read(s: string, from?: number, to?: number): IpFamily | 0;
}

/** Reads dotted-quad IPv4 in a range; returns the address as an unsigned 32-bit number, or -1. */
function readIpv4(s: string, from: number, to: number): number {
  let value = 0;
  let octets = 0;
  let i = from;
  while (octets < 4) {
    const start = i;
    let octet = 0;
    while (i < to) {
      const d = s.charCodeAt(i) - 0x30;
      if (d < 0 || d > 9) break;
      octet = octet * 10 + d;
      i++;
    }
    const len = i - start;
    if (len === 0 || len > 3 || octet > 255 || (len > 1 && s.charCodeAt(start) === 0x30)) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (s[i] !== '.' || i >= to) return -1;
      i++;
    }
  }
  return i === to ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Creates a reader with its own buffers; compile one per condition and reuse it. */
export function createIpReader(): IpReader {
  const words = new Uint32Array(4);
  const groups = new Uint16Array(8);

  /** Reads IPv6 text into `groups`; returns false when malformed. */
  function readIpv6(s: string, from: number, to: number): boolean {
    let count = 0;
    let gap = -1;
    let i = from;
    if (s[i] === ':' && s[i + 1] === ':' && i + 1 < to) {
      gap = 0;
      i += 2;
    }
    while (i < to) {
      let j = i;
      let group = 0;
      while (j < to && j - i < 5) {
        const d = hexDigit(s.charCodeAt(j));
        if (d < 0) break;
        group = group * 16 + d;
        j++;
      }
      if (s[j] === '.' && j < to) {
        const v4 = readIpv4(s, i, to);
        if (v4 < 0 || count > 6) return false;
        groups[count++] = v4 >>> 16;
        groups[count++] = v4 & 0xffff;
        i = to;
        break;
      }
      if (j === i || j - i > 4 || count >= 8) return false;
      groups[count++] = group;
      i = j;
      if (i === to) break;
      if (s[i] !== ':') return false;
      i++;
      if (s[i] === ':' && i < to) {
        if (gap >= 0) return false;
        gap = count;
        i++;
      } else if (i === to) return false;
    }
    if (gap < 0 ? count !== 8 : count > 7) return false;
    if (gap >= 0) {
      const tail = count - gap;
      for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k] as number;
      for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
    }
    return true;
  }

  const reader: IpReader = {
    words,
    mapped: false,
    read(s, from = 0, to = s.length) {
      reader.mapped = false;
      if (s.indexOf(':', from) < 0 || s.indexOf(':', from) >= to) {
        const v4 = readIpv4(s, from, to);
        if (v4 < 0) return 0;
        words[0] = v4;
        return 4;
      }
      if (!readIpv6(s, from, to)) return 0;
      for (let w = 0; w < 4; w++) words[w] = (groups[2 * w] as number) * 0x10000 + (groups[2 * w + 1] as number);
      if (words[0] === 0 && words[1] === 0 && words[2] === 0xffff) {
        reader.mapped = true;
        words[0] = words[3] as number;
        return 4;
      }
      return 6;
    },
  };
  return reader;
}

/** A CIDR block: network words (host bits cleared) and per-word masks. */
export interface Cidr {
  readonly family: IpFamily;
  readonly network: Uint32Array;
  readonly mask: Uint32Array;
  readonly prefix: number;
}

function prefixMask(prefix: number, words: number): Uint32Array {
  const mask = new Uint32Array(words);
  for (let w = 0; w < words; w++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * w));
    mask[w] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  }
  return mask;
}

// A prefix length in decimal without leading zeros, as octets are written.
const PREFIX_LENGTH = /^(?:0|[1-9]\d{0,2})$/;

/** Parses `address` or `address/prefix` (IPv4 or IPv6), or returns undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const reader = createIpReader();
  const family = reader.read(text, 0, slash < 0 ? text.length : slash);
  if (family === 0) return undefined;
  let prefix = family === 4 && !reader.mapped ? 32 : 128;
  if (slash >= 0) {
    const digitsText = text.slice(slash + 1);
    if (!PREFIX_LENGTH.test(digitsText)) return undefined;
    prefix = Number(digitsText);
    if (prefix > (family === 4 && !reader.mapped ? 32 : 128)) return undefined;
  }
  if (reader.mapped) {
    if (prefix < 96) {
      // A block reaching above the mapped range is an IPv6 block: put the ::ffff words back.
      const network = Uint32Array.of(0, 0, 0xffff, reader.words[0] as number);
      return finish(6, network, prefix);
    }
    prefix -= 96;
  }
  return finish(family, reader.words.slice(0, family === 4 ? 1 : 4), prefix);
}

function finish(family: IpFamily, address: Uint32Array, prefix: number): Cidr {
  const mask = prefixMask(prefix, address.length);
  const network = address.map((word, w) => (word & (mask[w] as number)) >>> 0);
  return { family, network, mask, prefix };
}

/** Whether the address last read into `words` (of `family`) lies in `cidr`. */
export function cidrContains(cidr: Cidr, family: IpFamily, words: Uint32Array): boolean {
  if (family !== cidr.family) return false;
  for (let w = 0; w < cidr.network.length; w++) {
    if ((((words[w] as number) & (cidr.mask[w] as number)) >>> 0) !== cidr.network[w]) return false;
  }
  return true;
}
