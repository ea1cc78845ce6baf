// The `headers` section of iamgate.yaml: the identity headers a caller may still send to the
// upstream, read beside the header classes each entry is checked against (docs/configuration.md
// documents it; src/app/config.ts composes it with the other sections).
import { FileReader, type Doc } from '../config/reader.js';
import type { Finding } from '../policy/index.js';
import { checkPassThrough } from './header-classes.js';

export interface HeadersConfig {
  /** Identity headers (lower-case) the caller may send to the upstream; every other one is dropped. */
  readonly passThrough: readonly string[];
}

/** Reads the `headers` section (absent: no header passes through); `config` is set only when there is no problem. */
export function readHeadersConfig(raw: unknown, options: { file?: string } = {}): { config?: HeadersConfig; findings: Finding[] } {
  const r = new FileReader(options.file);
  const headers = r.section({ headers: raw }, 'headers', 'headers', ['passThrough']);
  const passThrough = readPassThrough(r, headers);
  return r.findings.length > 0 ? { findings: r.findings } : { config: { passThrough }, findings: [] };
}

/** `headers.passThrough`: identity header names, lower-cased; each wrong entry is a problem. */
function readPassThrough(r: FileReader, headers: Doc): string[] {
  const v = headers['passThrough'];
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    r.add('DATA_TYPE_MISMATCH', 'headers.passThrough', 'must be a list of header names');
    return [];
  }
  const out: string[] = [];
  v.forEach((item: unknown, i) => {
    const message = typeof item === 'string' ? checkPassThrough(item) : 'must be a string';
    if (message) r.problem(`headers.passThrough[${i}]`, message);
    else out.push((item as string).toLowerCase());
  });
  return out;
}
