// Reading the JSON bodies of the STS endpoints: AWS's parameter names (RoleArn, RoleSessionName,
// DurationSeconds, TokenCode, Policy, Tags, SourceIdentity, WebIdentityToken), each checked for
// type and form.
import { SESSION_NAME } from '../../identity/index.js';
import { readJsonText } from '../../policy/index.js';

type InputCode = 'invalid_request' | 'invalid_session_name' | 'invalid_tags' | 'invalid_duration' | 'invalid_source_identity';

export type Input<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly code: InputCode; readonly detail: string };

type Obj = Record<string, unknown>;

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;
// The STS API reference's SourceIdentity: 2 to 64 letters, digits and _=,.@- (and +, as in a
// session name), never beginning with the reserved `aws:`.
const SOURCE_IDENTITY = /^[\w+=,.@-]{2,64}$/;

export interface CommonInput {
  readonly durationSeconds?: number;
  readonly tokenCode?: string;
}

export interface AssumeRoleInput extends CommonInput {
  readonly roleArn: string;
  readonly sessionName: string;
  /** Session policy as compact JSON text. */
  readonly policy?: string;
  readonly tags?: Readonly<Record<string, string>>;
  /** The source identity to set on the session (`SourceIdentity`). */
  readonly sourceIdentity?: string;
}

export interface WebIdentityInput extends AssumeRoleInput {
  readonly webIdentityToken: string;
}

function fail(code: InputCode, detail: string): Input<never> {
  return { ok: false, code, detail };
}

function optionalString(body: Obj, key: string): string | undefined | Error {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  return typeof v === 'string' ? v : new Error(`${key} must be a string`);
}

export function readCommon(body: Obj, known: readonly string[]): Input<CommonInput> {
  for (const k of Object.keys(body)) if (!known.includes(k)) return fail('invalid_request', `unknown parameter ${k}`);
  const d = body['DurationSeconds'];
  if (d !== undefined && (typeof d !== 'number' || !Number.isInteger(d))) return fail('invalid_request', 'DurationSeconds must be a whole number');
  if (typeof d === 'number' && d < 900) return fail('invalid_duration', `DurationSeconds ${d} is below 900`);
  const code = optionalString(body, 'TokenCode');
  if (code instanceof Error) return fail('invalid_request', code.message);
  return { ok: true, value: { ...(typeof d === 'number' ? { durationSeconds: d } : {}), ...(code !== undefined ? { tokenCode: code } : {}) } };
}

function readTags(v: unknown): Input<Record<string, string> | undefined> {
  if (v === undefined || v === null) return { ok: true, value: undefined };
  if (!Array.isArray(v) || v.length > 50) return fail('invalid_tags', 'Tags must be a list of at most 50 {Key, Value}');
  // Entries, made an object by Object.fromEntries: an assignment would drop a tag named __proto__.
  const tags: [string, string][] = [];
  const seen = new Set<string>();
  for (const t of v) {
    const key = (t as Obj | null)?.['Key'];
    const value = (t as Obj | null)?.['Value'];
    if (typeof key !== 'string' || typeof value !== 'string' || !TAG_KEY.test(key) || !TAG_VALUE.test(value)) {
      return fail('invalid_tags', 'each tag needs a Key and a Value of allowed characters');
    }
    if (key.toLowerCase().startsWith('aws:') || seen.has(key.toLowerCase())) return fail('invalid_tags', `tag ${key} is reserved or repeated`);
    seen.add(key.toLowerCase());
    tags.push([key, value]);
  }
  return { ok: true, value: Object.fromEntries(tags) };
}

/**
 * What an ARN the STS is given (RoleArn, RevokeSessions' PrincipalArn) may be: `arn:` and printable
 * ASCII, 2048 characters at most (AWS's limit). Every ARN of a directory's users, roles and role
 * sessions is (their names and paths are ASCII), so nothing else can name one; refusing it keeps
 * line breaks, controls and megabytes out of the refusal's audit record, which holds the ARN.
 */
const PRINTABLE_ARN = /^arn:[!-~]{1,2044}$/;

/** Whether `v` is an ARN the STS reads (see PRINTABLE_ARN); anything else names no principal of the directory. */
export const isPrintableArn = (v: unknown): v is string => typeof v === 'string' && PRINTABLE_ARN.test(v);

const ASSUME_ROLE_KEYS = ['RoleArn', 'RoleSessionName', 'DurationSeconds', 'TokenCode', 'Policy', 'Tags', 'SourceIdentity'];

/** Whether `v` is a source identity AWS accepts, from the `SourceIdentity` parameter or a web identity token's claim. */
export function isSourceIdentity(v: unknown): v is string {
  return typeof v === 'string' && SOURCE_IDENTITY.test(v) && !v.toLowerCase().startsWith('aws:');
}

function readSourceIdentity(v: unknown): Input<string | undefined> {
  if (v === undefined || v === null) return { ok: true, value: undefined };
  if (!isSourceIdentity(v)) {
    return fail('invalid_source_identity', 'SourceIdentity must be 2-64 letters, digits or _+=,.@- and must not begin with aws:');
  }
  return { ok: true, value: v };
}

export function readAssumeRole(body: Obj, extraKeys: readonly string[] = []): Input<AssumeRoleInput> {
  const common = readCommon(body, [...ASSUME_ROLE_KEYS, ...extraKeys]);
  if (!common.ok) return common;
  const roleArn = body['RoleArn'];
  if (typeof roleArn !== 'string' || roleArn === '') return fail('invalid_request', 'RoleArn is required');
  if (!isPrintableArn(roleArn)) return fail('invalid_request', 'RoleArn must be an ARN: arn: and at most 2048 printable ASCII characters');
  const sessionName = body['RoleSessionName'];
  if (typeof sessionName !== 'string' || !SESSION_NAME.test(sessionName)) return fail('invalid_session_name', 'RoleSessionName is missing or malformed');
  const rawPolicy = body['Policy'];
  let policy: string | undefined;
  if (typeof rawPolicy === 'string') {
    // Read as the body is: a member named twice leaves the policy's meaning to a guess.
    const { value, error, duplicateKeys } = readJsonText(rawPolicy);
    if (error) return fail('invalid_request', 'Policy is not JSON');
    if (duplicateKeys.length > 0) return fail('invalid_request', `Policy names ${duplicateKeys[0]} more than once`);
    policy = JSON.stringify(value);
  } else if (rawPolicy !== undefined && rawPolicy !== null) {
    if (typeof rawPolicy !== 'object') return fail('invalid_request', 'Policy must be a policy document');
    policy = JSON.stringify(rawPolicy);
  }
  const tags = readTags(body['Tags']);
  if (!tags.ok) return tags;
  const sourceIdentity = readSourceIdentity(body['SourceIdentity']);
  if (!sourceIdentity.ok) return sourceIdentity;
  return {
    ok: true,
    value: {
      ...common.value,
      roleArn,
      sessionName,
      ...(policy !== undefined ? { policy } : {}),
      ...(tags.value !== undefined ? { tags: tags.value } : {}),
      ...(sourceIdentity.value !== undefined ? { sourceIdentity: sourceIdentity.value } : {}),
    },
  };
}

export function readWebIdentity(body: Obj): Input<WebIdentityInput> {
  const base = readAssumeRole(body, ['WebIdentityToken']);
  if (!base.ok) return base;
  const token = body['WebIdentityToken'];
  if (typeof token !== 'string' || token === '') return fail('invalid_request', 'WebIdentityToken is required');
  if (base.value.tokenCode !== undefined) return fail('invalid_request', 'TokenCode is not accepted with a web identity');
  // AssumeRoleWithWebIdentity has no SourceIdentity parameter: it comes from the token's claim.
  if (base.value.sourceIdentity !== undefined) return fail('invalid_request', 'unknown parameter SourceIdentity');
  return { ok: true, value: { ...base.value, webIdentityToken: token } };
}
