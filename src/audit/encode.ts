// The audit log's fast path from an event to its line: the record buildAuditEvent lays out, written
// straight as canonical JSON text, with no object built, copied or stringified per record.
//
// Most of a decision record repeats from request to request: its kind, action, decision, reason,
// method, the caller's ARN and issuer, the statements that decided. Each such value is bounded,
// checked for a bearer token and JSON-escaped once, the first time it is seen, and kept as a ready
// fragment (`,"reason":"allowed"`); a record is then those fragments joined with what
// only it holds (event id, time, chain members, request id, path, resource, source address, trace
// id, status). The principal, authn and statements members of a request come from objects the
// gateway builds once per principal and per cached decision and freezes: their fragments are kept
// per object, so a record looks them up instead of assembling them again. A member object that is
// not frozen (it could change) is written afresh each time. test/audit/encode.test.ts pins the text
// to canonicalJson of buildAuditEvent's record.
import type { BuildDeps } from './build.js';
import { CACHE_LEVELS, decisionOf, FIELD_LIMITS, integer, KINDS, latencyOf, pathOf, text } from './build.js';
import type { AuditEventInput } from './schema.js';
import { SCHEMA_VERSION } from './schema.js';

/** Distinct values one field's memo keeps before it starts over (a bound on memory, whatever callers send). */
export const FRAGMENTS_PER_FIELD = 4096;

type Fragment = (value: unknown) => string;

/** A character JSON.stringify would escape: quote, backslash, control, or a surrogate (escaped when lone). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `s` as one flat string. A fragment kept for later records is built by `+` or a template as a tree
 * of the strings it was made from, which every record's join would walk again, piece by piece; join
 * copies pieces into one flat string (two at least: join hands a lone piece back as it is).
 */
function flat(s: string): string {
  return s.length < 2 ? s : [s.slice(0, 1), s.slice(1)].join('');
}

/** A per-record string as a JSON string: most need no escaping, and one precompiled test settles it. */
function quote(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * A field whose values repeat: `before` + the escaped value + `after`, computed once per distinct
 * value; '' for a value that is not a string (the field is left out). A value over the field's
 * limit is written without being kept, so the memo holds at most FRAGMENTS_PER_FIELD short values.
 */
function repeated(before: string, limit: number, after = ''): Fragment {
  const known = new Map<string, string>();
  return (value) => {
    if (typeof value !== 'string') return '';
    let fragment = known.get(value);
    if (fragment === undefined) {
      fragment = `${before}${JSON.stringify(text(value, limit))}${after}`;
      if (value.length > limit) return fragment;
      if (known.size >= FRAGMENTS_PER_FIELD) known.clear();
      known.set(value, (fragment = flat(fragment)));
    }
    return fragment;
  };
}

/** A field whose value is new each time: bounded, checked and escaped per record. */
function single(before: string, limit: number): Fragment {
  return (value) => (typeof value === 'string' ? `${before}${quote(text(value, limit) as string)}` : '');
}

/** A record's pieces, joined once into its text (see createEventEncoder). */
type Pieces = string[];

/**
 * Puts a per-record string into three pieces from `at`: `before` with the opening quote, the text,
 * the closing quote (or `before`, the escaped text, '' when it needs escaping). Kept apart, the text
 * is copied only once, by the join, instead of into intermediate strings first.
 */
function putString(pieces: Pieces, at: number, before: string, open: string, s: string): void {
  const escaped = NEEDS_ESCAPE.test(s);
  pieces[at] = escaped ? before : open;
  pieces[at + 1] = escaped ? JSON.stringify(s) : s;
  pieces[at + 2] = escaped ? '' : '"';
}

/** Empties the three pieces of a member that is left out. */
function putNothing(pieces: Pieces, at: number): void {
  pieces[at] = '';
  pieces[at + 1] = '';
  pieces[at + 2] = '';
}

/** `single` for a member of the record itself, put as three pieces (putString); left out when not a string. */
function singlePieces(before: string, limit: number): (pieces: Pieces, at: number, value: unknown) => void {
  const open = `${before}"`;
  return (pieces, at, value) => {
    if (typeof value === 'string') putString(pieces, at, before, open, text(value, limit) as string);
    else putNothing(pieces, at);
  };
}

/** `,"key":n` for a finite number (truncated), '' otherwise. */
function count(before: string, value: unknown): string {
  const n = integer(value);
  return n === undefined ? '' : `${before}${n}`;
}

/** Fragments for each value of a closed set, prepared up front. */
function closedSet(before: string, values: Iterable<string>, after = ''): ReadonlyMap<unknown, string> {
  const out = new Map<unknown, string>();
  for (const v of values) out.set(v, flat(`${before}${JSON.stringify(v)}${after}`));
  return out;
}

const isObject = (v: unknown): v is object => v !== null && typeof v === 'object';

/** Whether nothing in `value` can change: it and every object or array inside it are frozen. */
function deeplyFrozen(value: object): boolean {
  if (!Object.isFrozen(value)) return false;
  for (const member of Object.values(value)) if (isObject(member) && !deeplyFrozen(member)) return false;
  return true;
}

/**
 * `write(value)` for a member object, kept per object when nothing in it can change (it is deeply
 * frozen, so its fragment cannot change either); written afresh otherwise. An object seen again is
 * one WeakMap lookup, and the WeakMap keeps nothing alive. Only deeply frozen objects are kept, and
 * nothing frozen can thaw, so a kept one needs no `Object.isFrozen` again (a call into the runtime).
 */
function perFrozenObject<T>(write: (value: T) => string): (value: T) => string {
  const kept = new WeakMap<object, string>();
  return (value) => {
    if (!isObject(value)) return write(value);
    const known = kept.get(value);
    if (known !== undefined) return known;
    const fragment = write(value);
    if (deeplyFrozen(value)) {
      const flattened = flat(fragment);
      kept.set(value, flattened);
      return flattened;
    }
    return fragment;
  };
}

/** Writes events as canonical record text for `Chain.sealText`. */
export interface EventEncoder {
  /** The record's canonical text at sequence number `seq` after `prev`. Throws TypeError for an unknown kind. */
  (event: AuditEventInput, seq: number, prev: string): string;
}

/** Creates the encoder of one chain (`instanceId`), with its own memo of fragments. */
export function createEventEncoder(instanceId: string, deps: BuildDeps): EventEncoder {
  // Members before `eventId` end in a comma (the record opens with them); the rest start with one.
  const action = repeated('"action":', FIELD_LIMITS.action, ',');
  const cache = closedSet('"cache":', CACHE_LEVELS, ',');
  const decision = closedSet('"decision":', ['Allow', 'Deny'], ',');
  const issuer = repeated('"issuer":', FIELD_LIMITS.issuer);
  const authMethod = repeated('', FIELD_LIMITS.method);
  const instance = flat(`,"instanceId":${JSON.stringify(instanceId)}`);
  const kinds = closedSet(',"kind":', KINDS);
  const method = repeated(',"method":', FIELD_LIMITS.method);
  const arn = repeated(',"principal":{"arn":', FIELD_LIMITS.arn);
  const session = single(',"session":', FIELD_LIMITS.name);
  const sourceIdentity = single(',"sourceIdentity":', FIELD_LIMITS.name);
  const principalType = repeated(',"type":', FIELD_LIMITS.name, '}');
  const reason = repeated(',"reason":', FIELD_LIMITS.reason);
  const requestId = singlePieces(',"requestId":', FIELD_LIMITS.id);
  const resource = singlePieces(',"resource":', FIELD_LIMITS.resource);
  const bySeq = flat(`,"schemaVersion":${SCHEMA_VERSION},"seq":`);
  const shadow = closedSet(',"shadow":', ['would_allow', 'would_deny']);
  const sourceIp = singlePieces(',"sourceIp":', FIELD_LIMITS.ip);
  const policy = repeated('{"policy":', FIELD_LIMITS.name);
  const sid = repeated(',"sid":', FIELD_LIMITS.name);
  const traceId = singlePieces(',"traceId":', FIELD_LIMITS.id);
  const upstreamError = repeated('"error":', FIELD_LIMITS.reason);
  const { now, randomId } = deps;
  const isoTime = deps.isoTime ?? ((ms: number) => new Date(ms).toISOString());
  let lastMs = Number.NaN;
  let lastTime = '';
  /** One slot per piece of a record, in canonical order (see the encoder below). */
  const pieces: Pieces = Array.from({ length: 40 }, () => '');

  const time = (): string => {
    const ms = now();
    if (ms !== lastMs) {
      lastMs = ms;
      // quote, not JSON.stringify (a call into the runtime): an ISO time never needs escaping.
      lastTime = `,"time":${quote(isoTime(ms))}`;
    }
    return lastTime;
  };

  const principalOf = perFrozenObject((p: AuditEventInput['principal']): string => {
    if (!isObject(p)) return '';
    const head = arn(p.arn);
    return `${head === '' ? ',"principal":{"arn":""' : head}${session(p.session)}${sourceIdentity(p.sourceIdentity)}${principalType(p.type) || ',"type":""}'}`;
  });

  const authnOf = perFrozenObject((a: AuditEventInput['authn']): string => {
    if (!isObject(a)) return '';
    let members = issuer(a.issuer);
    if (Array.isArray(a.methods)) {
      let list = '';
      const methods: readonly unknown[] = a.methods;
      for (let i = 0; i < methods.length && i < FIELD_LIMITS.methods; i++) {
        const m = authMethod(methods[i]);
        if (m !== '') list = list === '' ? m : `${list},${m}`;
      }
      members = `${members}${members === '' ? '' : ','}"methods":[${list}]`;
    }
    if (typeof a.mfa === 'boolean') members = `${members}${members === '' ? '' : ','}"mfa":${a.mfa}`;
    return `"authn":{${members}},`;
  });

  const statementsOf = perFrozenObject((value: AuditEventInput['statements']): string => {
    if (!Array.isArray(value)) return '';
    const statements: readonly unknown[] = value;
    let list = '';
    for (let i = 0; i < statements.length && i < FIELD_LIMITS.statements; i++) {
      const s = statements[i];
      if (!isObject(s)) continue;
      const { policy: name, sid: id } = s as { policy?: unknown; sid?: unknown };
      const item = `${policy(name) || '{"policy":""'}${sid(id)}}`;
      list = list === '' ? item : `${list},${item}`;
    }
    return `,"statements":[${list}]`;
  });

  const upstreamOf = (u: AuditEventInput['upstream']): string => {
    if (!isObject(u)) return '';
    let members = upstreamError(u.error);
    const latency = latencyOf(u.latencyMs);
    if (latency !== undefined) members = `${members}${members === '' ? '' : ','}"latencyMs":${latency}`;
    const status = integer(u.status);
    if (status !== undefined) members = `${members}${members === '' ? '' : ','}"status":${status}`;
    return `,"upstream":{${members}}`;
  };

  return (e, seq, prev) => {
    const kind = kinds.get(e.kind);
    if (kind === undefined) throw new TypeError(`unknown audit event kind: ${String(e.kind)}`);
    const d = decisionOf(e.decision);
    // Joined, not concatenated: `join` copies the pieces into one flat string, where `+` would
    // build a tree of some thirty intermediate strings that the hash then flattens into a copy.
    // The array is the encoder's own and every piece is set each time, so nothing else is made.
    pieces[0] = '{';
    pieces[1] = action(e.action);
    pieces[2] = authnOf(e.authn);
    pieces[3] = cache.get(e.cache) ?? '';
    pieces[4] = d === undefined ? '' : (decision.get(d) as string);
    putString(pieces, 5, '"eventId":', '"eventId":"', randomId());
    pieces[8] = instance;
    pieces[9] = kind;
    pieces[10] = method(e.method);
    const p = pathOf(e.path);
    if (p === undefined) putNothing(pieces, 11);
    else putString(pieces, 11, ',"path":', ',"path":"', p);
    pieces[14] = count(',"policyGeneration":', e.policyGeneration);
    pieces[15] = ',"prev":"';
    pieces[16] = prev;
    pieces[17] = '"';
    pieces[18] = principalOf(e.principal);
    pieces[19] = reason(e.reason) || ',"reason":"unspecified"';
    requestId(pieces, 20, e.requestId);
    resource(pieces, 23, e.resource);
    pieces[26] = bySeq;
    pieces[27] = String(seq);
    pieces[28] = shadow.get(e.shadow) ?? '';
    sourceIp(pieces, 29, e.sourceIp);
    pieces[32] = statementsOf(e.statements);
    pieces[33] = count(',"status":', e.status);
    pieces[34] = time();
    traceId(pieces, 35, e.traceId);
    pieces[38] = upstreamOf(e.upstream);
    pieces[39] = '}';
    return pieces.join('');
  };
}
