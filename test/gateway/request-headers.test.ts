// The one scan of a request's headers reads what a search per header name (case-insensitive)
// would find, for every spelling and order, so the stages can rely on it alone.
import { describe, expect, it } from 'vitest';
import { headerValue, headerValues } from '../../src/gateway/context.js';
import { scanHeaders } from '../../src/gateway/request-headers.js';

const NAMES = ['Host', 'host', 'HOST', 'Authorization', 'authorization', 'User-Agent', 'Referer', 'X-Forwarded-For', 'x-forwarded-proto', 'Connection', 'Expect', 'Transfer-Encoding', 'transfer-encoding', 'Content-Length', 'content-length', 'Accept', 'X-Other', 'Content-Type', 'Hostx', 'Authorisation'];
const VALUES = ['chunked', ' Chunked ', 'gzip', 'a', 'Bearer t', '', '1.2.3.4, 5.6.7.8', 'https', '100-continue', 'keep-alive, user-agent', 'Keep-Alive', 'close', 'CLOSE', 'keep-alive '];

/** A deterministic generator, so a failure names the list it failed on. */
function lists(count: number): string[][] {
  let seed = 7;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  return Array.from({ length: count }, () => Array.from({ length: next(9) }, () => [NAMES[next(NAMES.length)]!, VALUES[next(VALUES.length)]!]).flat());
}

describe('the request header scan', () => {
  it('finds what a search per name finds, in one pass, for every spelling and order', () => {
    for (const raw of lists(2000)) {
      const scan = scanHeaders(raw);
      const codings = headerValues(raw, 'transfer-encoding');
      expect(scan, JSON.stringify(raw)).toEqual({
        hostCount: headerValues(raw, 'host').length,
        knownTransferCoding: codings.length === 0 || (codings.length === 1 && codings[0]!.trim().toLowerCase() === 'chunked'),
        authorization: headerValue(raw, 'authorization'),
        authorizationCount: headerValues(raw, 'authorization').length,
        userAgent: headerValue(raw, 'user-agent'),
        referer: headerValue(raw, 'referer'),
        forwardedFor: headerValues(raw, 'x-forwarded-for').length > 0 ? headerValues(raw, 'x-forwarded-for') : undefined,
        forwardedProto: headerValues(raw, 'x-forwarded-proto').length > 0 ? headerValues(raw, 'x-forwarded-proto').join(',') : undefined,
        connectionNames: headerValues(raw, 'connection').some((v) => !['keep-alive', 'close'].includes(v.toLowerCase())),
        expect: headerValue(raw, 'expect'),
        framesBody: headerValues(raw, 'content-length').length > 0 || codings.length > 0,
      });
    }
  });
});
