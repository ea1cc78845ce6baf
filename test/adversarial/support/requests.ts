// Generated raw HTTP/1.1 requests for the generated suites: a request the adversarial policies allow,
// bent by up to four mutations — odd-case and other methods; absolute-form and asterisk targets;
// paths with percent-encodings (upper- and lower-case hex, encoded `/`, `.`, `%`, NUL, `\`, `;`),
// dot segments, doubled slashes, Unicode (sent as UTF-8 bytes), queries and fragments; Host variants
// and twins; credentials of the other user, twice, or broken; header twins, respellings, obs-folds,
// forwarding, describing and identity headers; and Transfer-Encoding / Content-Length combinations
// with the body each implies. Shrinking drops mutations, so a failure shrinks to the few that matter. `bytesOf` writes one
// exactly as generated: nothing on the way normalises it.
import fc from 'fast-check';
import type { User } from './generated.js';

/** The caller's credentials: a user's token, none, or a broken or doubled Authorization. */
export type Credentials = { readonly kind: 'user'; readonly user: User } | { readonly kind: 'none' } | { readonly kind: 'lines'; readonly lines: readonly (User | string)[] };

export interface GeneratedRequest {
  readonly method: string;
  readonly target: string;
  /** Host lines, in order (none, one, or twins). */
  readonly hosts: readonly string[];
  readonly credentials: Credentials;
  /** Other header lines, as written (`name`, `value`); a value may hold an obs-fold. */
  readonly headers: readonly (readonly [string, string])[];
  /** Framing lines and the body they describe. */
  readonly framing: Framing;
}

export interface Framing {
  readonly lines: readonly string[];
  readonly body: string;
}

/** Text whose UTF-8 bytes go on the wire one per character (a latin1 string of the encoding). */
export const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');

const WORDS = ['orders', 'secret-1', 'SECRET-1', '1', 'users', 'alice', 'bob', 'teams', 'red', 'blue', 'docs', 'admin', 'reports', 'invoices', 'internal', '.iamgate', 'authz', 'healthz', 'x', '*'];
const DOTS = ['.', '..', '%2e', '%2E', '.%2e', '%2e%2E', '%2E.'];
const ODD = [
  '%2F', '%2f', '%00', '%5C', '%5c', '\\', ';', ';x', '%3B', '%3b', '%25', '%252e', '%252F', '%2D', 'secret%2D1', 'secret%2d1', 'se%63ret-1', '%73ecret-1',
  '%E2%80%8B', '%e2%80%8b', utf8('é'), '%C3%A9', '%c3%a9', utf8('ｓecret-1'), utf8('．．'), '%EF%BC%8E%EF%BC%8E', '%EF%BC%8F', utf8('\u2028'), '%E2%80%A8',
  '%u0073ecret-1', 'secret-1.', '%20', '%09', '%3F', '%23', '%C0%AE', '%ff', '%', '%zz', 'a%2Fb',
];

/** A word of the route map with some of its characters percent-encoded, each in upper- or lower-case hex. */
const encodedWord: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...WORDS), fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 3 }))
  .map(([word, picks]) => {
    const chars = [...word];
    for (const [at, lower] of picks) {
      const i = at % chars.length;
      const ch = chars[i]!;
      if (ch.startsWith('%')) continue;
      const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
      chars[i] = `%${lower ? hex.toLowerCase() : hex.toUpperCase()}`;
    }
    return chars.join('');
  });

const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...WORDS) },
  { weight: 2, arbitrary: encodedWord },
  { weight: 2, arbitrary: fc.constantFrom(...DOTS) },
  { weight: 1, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom(...ODD) },
);

const QUERIES = [
  'status=open', 'status=closed', 'status=open&status=closed', 'Status=open', 'status[]=open', 'status=%6Fpen', 'status=%6fpen', '%73tatus=open',
  'status=open;status=closed', 'status=open%26status%3Dclosed', '_method=DELETE', '%5Fmethod=DELETE', '_METHOD=delete', 'x=%zz', 'x=1', '', 'x=/../secret-1', 'status=open%00',
];

export const METHODS = ['GET', 'GET', 'GET', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'get', 'Get', 'gEt', 'BREW', 'M-SEARCH', 'CONNECT'] as const;

const HOSTS: readonly (readonly string[])[] = [
  ['orders.example'], ['orders.example'], ['orders.example:80'], ['ORDERS.EXAMPLE'], ['orders.example.'], ['orders.example', 'orders.example'], ['orders.example', 'evil.example'],
  [], [''], ['[::1]'], ['127.0.0.1:1'], ['orders.example:'], ['orders.example:99999'], ['evil.example@orders.example'],
];

const credentials: fc.Arbitrary<Credentials> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<User>('alice', 'bob').map((user): Credentials => ({ kind: 'user', user })) },
  { weight: 1, arbitrary: fc.constant<Credentials>({ kind: 'none' }) },
  { weight: 1, arbitrary: fc.constantFrom<readonly (User | string)[]>(['alice', 'alice'], ['alice', 'bob'], ['Bearer x'], ['bearer alice'], ['Basic YWxpY2U6eA=='], ['Bearer '], ['']).map((lines): Credentials => ({ kind: 'lines', lines })) },
);

const HEADERS: readonly (readonly [string, readonly string[]])[] = [
  ['X-Client-Id', ['ops-console', 'other', 'ops-console, other', ' ops-console ', 'OPS-CONSOLE', '', utf8('ops-consolé'), 'ops-console\r\n other', 'ops\r\n -console']],
  ['x-client-id', ['ops-console']],
  ['X_Client_Id', ['ops-console', 'other']],
  ['X-Forwarded-For', ['203.0.113.5', '10.0.0.1, 203.0.113.5', '203.0.113.5, 10.0.0.1', '203.0.113.5:80', '', '::ffff:203.0.113.5', '203.0.113.5, 127.0.0.1', '203.0.113.5\r\n , 10.0.0.1']],
  ['X-Forwarded-Proto', ['https', 'http', 'https, http', 'HTTPS', ' https ']],
  ['X-Forwarded-Host', ['evil.example', 'orders.example']],
  ['Forwarded', ['for=203.0.113.5;proto=https']],
  ['X-Real-IP', ['203.0.113.5']],
  ['X-HTTP-Method-Override', ['DELETE']],
  ['X-Original-URI', ['/orders/secret-1']],
  ['X-Forwarded-Uri', ['/orders/secret-1']],
  ['X-Iamgate-Principal', ['arn:aws:iam::111122223333:user/bob']],
  ['X-Iamgate-Request-Id', ['forged']],
  ['X-Iamgate-Mfa', ['true']],
  ['Connection', ['X-Client-Id', 'close', 'keep-alive, X-Forwarded-For', 'Upgrade']],
  ['Upgrade', ['h2c', 'websocket']],
  ['Expect', ['100-continue', 'fancy']],
  ['traceparent', ['00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'junk']],
  ['User-Agent', ['curl/8', utf8('agént')]],
];

const header: fc.Arbitrary<readonly [string, string]> = fc.constantFrom(...HEADERS).chain(([name, values]) => fc.constantFrom(...values).map((value) => [name, value] as const));

const FRAMINGS: readonly Framing[] = [
  { lines: [], body: '' },
  { lines: [], body: '' },
  { lines: ['Content-Length: 0'], body: '' },
  { lines: ['Content-Length: 5'], body: 'hello' },
  { lines: ['Transfer-Encoding: chunked'], body: '5\r\nhello\r\n0\r\n\r\n' },
  { lines: ['Transfer-Encoding: chunked', 'Content-Length: 5'], body: '5\r\nhello\r\n0\r\n\r\n' },
  { lines: ['Content-Length: 5', 'Content-Length: 5'], body: 'hello' },
  { lines: ['Content-Length: 5, 5'], body: 'hello' },
  { lines: ['Content-Length: +5'], body: 'hello' },
  { lines: ['Transfer-Encoding: chunked, identity'], body: '5\r\nhello\r\n0\r\n\r\n' },
  { lines: ['Transfer-Encoding: identity, chunked'], body: '5\r\nhello\r\n0\r\n\r\n' },
  { lines: ['Transfer-Encoding:  Chunked '], body: '5\r\nhello\r\n0\r\n\r\n' },
  { lines: ['Transfer-Encoding: xchunked'], body: '' },
  { lines: ['Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], body: '5\r\nhello\r\n0\r\n\r\n' },
  { lines: ['Transfer-Encoding: chunked'], body: '5\r\nhello\r\n0\r\nX-Client-Id: ops-console\r\n\r\n' },
];

/** Requests the adversarial policies allow (the admin routes take any method): what mutations start from. */
export const ALLOWED: readonly GeneratedRequest[] = (
  [
    ['GET', '/orders/1', 'alice', []],
    ['GET', '/orders/a-1', 'alice', []],
    ['GET', '/orders?status=open', 'alice', []],
    ['GET', '/users/alice/orders/1', 'alice', []],
    ['GET', '/users/bob/orders/7', 'bob', []],
    ['GET', '/teams/red/docs/1', 'alice', []],
    ['GET', '/admin/users', 'alice', [['X-Client-Id', 'ops-console']]],
    ['POST', '/admin/users/9', 'alice', [['X-Client-Id', 'ops-console']]],
    ['DELETE', '/admin/x', 'alice', [['X-Client-Id', 'ops-console']]],
    ['GET', '/reports/1', 'alice', [['X-Forwarded-For', '203.0.113.5']]],
    ['GET', '/internal/1', 'alice', []],
    ['GET', '/invoices/1', 'alice', [['X-Forwarded-Proto', 'https']]],
  ] as const
).map(([method, target, user, headers]) => ({ method, target, hosts: ['orders.example'], credentials: { kind: 'user', user }, headers, framing: FRAMINGS[0]! }));

export type Mutation = (r: GeneratedRequest) => GeneratedRequest;

/** Splits a target into path, query (with `?`) and the rest (a fragment). */
function partsOf(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/** A path mutation at one of the path's characters or segments. */
export const pathMutation: fc.Arbitrary<Mutation> = fc.oneof(
  // one character percent-encoded, in upper- or lower-case hex
  fc.tuple(fc.nat(), fc.boolean()).map(([at, lower]): Mutation => (r) => {
    const { path, query } = partsOf(r.target);
    const i = 1 + (at % Math.max(1, path.length - 1));
    const ch = path[i];
    if (ch === undefined || ch === '%') return r;
    const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
    return { ...r, target: `${path.slice(0, i)}%${lower ? hex : hex.toUpperCase()}${path.slice(i + 1)}${query}` };
  }),
  // a segment inserted before one of the path's slashes (a dot segment, an odd one, a word and `..`)
  fc.tuple(fc.nat(), fc.oneof(fc.constantFrom(...DOTS), fc.constantFrom(...ODD), fc.constant(''), segment.map((w) => `${w}/..`))).map(([at, seg]): Mutation => (r) => {
    const { path, query } = partsOf(r.target);
    const slashes = [...path].flatMap((c, i) => (c === '/' ? [i] : []));
    const i = slashes[at % slashes.length]!;
    return { ...r, target: `${path.slice(0, i)}/${seg}${path.slice(i)}${query}` };
  }),
  // a segment replaced, or something appended to the path
  fc.tuple(fc.nat(), segment).map(([at, seg]): Mutation => (r) => {
    const { path, query } = partsOf(r.target);
    const segs = path.split('/');
    segs[1 + (at % (segs.length - 1))] = seg;
    return { ...r, target: `${segs.join('/')}${query}` };
  }),
  fc.constantFrom(...ODD, '/', '.', '/.', '/..', '#x', '#/../secret-1').map((tail): Mutation => (r) => {
    const { path, query } = partsOf(r.target);
    return { ...r, target: `${path}${tail}${query}` };
  }),
  fc.constantFrom(...QUERIES).map((q): Mutation => (r) => ({ ...r, target: `${partsOf(r.target).path}?${q}` })),
  fc.constantFrom('http://orders.example', 'HTTP://orders.example', 'http://127.0.0.1:1', '/').map((origin): Mutation => (r) => ({ ...r, target: origin + r.target })),
  fc.constantFrom('*', 'orders/1', '').map((t): Mutation => (r) => ({ ...r, target: t })),
);

/** An obs-fold: the value continued on a line of its own, which HTTP/1.1 servers read apart or refuse. */
const FOLDS = ['\r\n other', '\r\n\t,other', '\r\n ', 'x\r\n -console'];

const headerMutation: fc.Arbitrary<Mutation> = fc.oneof(
  header.map((h): Mutation => (r) => ({ ...r, headers: [...r.headers, h] })),
  // a twin of a header the request carries, with its value or another
  fc.tuple(fc.nat(), fc.option(fc.constantFrom('other', '', 'ops-console', '10.0.0.1', 'http'), { nil: undefined })).map(([at, value]): Mutation => (r) => {
    const h = r.headers[at % Math.max(1, r.headers.length)];
    return h ? { ...r, headers: [...r.headers, [h[0], value ?? h[1]]] } : r;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...FOLDS)).map(([at, fold]): Mutation => (r) => {
    const i = at % Math.max(1, r.headers.length);
    const h = r.headers[i];
    return h ? { ...r, headers: r.headers.map((x, k) => (k === i ? [x[0], `${x[1]}${fold}`] : x)) } : r;
  }),
  fc.tuple(fc.nat(), fc.constantFrom((n: string) => n.toLowerCase(), (n: string) => n.toUpperCase(), (n: string) => n.replaceAll('-', '_'), (n: string) => `${n} `)).map(([at, spell]): Mutation => (r) => {
    const i = at % Math.max(1, r.headers.length);
    return r.headers[i] ? { ...r, headers: r.headers.map((x, k) => (k === i ? [spell(x[0]), x[1]] : x)) } : r;
  }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: pathMutation },
  { weight: 4, arbitrary: headerMutation },
  { weight: 2, arbitrary: fc.constantFrom(...METHODS).map((method): Mutation => (r) => ({ ...r, method })) },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTS).map((hosts): Mutation => (r) => ({ ...r, hosts })) },
  { weight: 2, arbitrary: credentials.map((c): Mutation => (r) => ({ ...r, credentials: c })) },
  { weight: 2, arbitrary: fc.constantFrom(...FRAMINGS).map((framing): Mutation => (r) => ({ ...r, framing })) },
);

/** An allowed request with up to four mutations (none, now and then: the allowed request itself). */
export const generatedRequest: fc.Arbitrary<GeneratedRequest> = fc
  .tuple(fc.constantFrom(...ALLOWED), fc.array(mutation, { maxLength: 4 }))
  .map(([base, mutations]) => mutations.reduce((r, m) => m(r), base));

/** The request's bytes: request line, Host lines, credentials, headers, framing, `Connection: close` (unless `last` is false), body. */
export function bytesOf(r: GeneratedRequest, bearer: Readonly<Record<User, string>>, last = true): Buffer {
  const lines: string[] = [`${r.method} ${r.target} HTTP/1.1`];
  for (const h of r.hosts) lines.push(`Host: ${h}`);
  const c = r.credentials;
  if (c.kind === 'user') lines.push(`Authorization: ${bearer[c.user]}`);
  if (c.kind === 'lines') for (const l of c.lines) lines.push(`Authorization: ${l === 'alice' || l === 'bob' ? bearer[l] : l}`);
  for (const [n, v] of r.headers) lines.push(`${n}: ${v}`);
  for (const l of r.framing.lines) lines.push(l);
  if (last) lines.push('Connection: close');
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${r.framing.body}`, 'latin1');
}

