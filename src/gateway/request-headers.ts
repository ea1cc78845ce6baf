// The client's raw headers read once into what the stages need: every stage (framing, source
// address, transport, authentication, context) reads this value instead of walking the raw list
// again, lower-casing names each time. Only names whose length matches one iamgate reads are
// lower-cased, so a request's other headers cost a length comparison each.

/** What the pipeline reads of a request's headers, from one pass over the raw list. */
export interface RequestHeaders {
  /** How many Host lines the request carries. */
  readonly hostCount: number;
  /** No Transfer-Encoding, or exactly one that is `chunked`. */
  readonly knownTransferCoding: boolean;
  /** The first Authorization value, and how many lines carry one. */
  readonly authorization: string | undefined;
  readonly authorizationCount: number;
  /** First values (aws:UserAgent, aws:Referer read the first, as before). */
  readonly userAgent: string | undefined;
  readonly referer: string | undefined;
  /** Every X-Forwarded-For value in order, or undefined when none. */
  readonly forwardedFor: readonly string[] | undefined;
  /** Every X-Forwarded-Proto value in order, joined by commas, or undefined when none. */
  readonly forwardedProto: string | undefined;
  /**
   * A Connection header lists a token other than `keep-alive` or `close`: the rare case where the
   * tokens are read (a header named there is not forwarded).
   */
  readonly connectionNames: boolean;
  readonly expect: string | undefined;
  /** A Content-Length or Transfer-Encoding line is present: the request may have a body. */
  readonly framesBody: boolean;
}

/** Whether a Connection value may name a header: anything but the usual `keep-alive` or `close`. */
function namesHeaders(value: string): boolean {
  const v = value.length === 10 || value.length === 5 ? value.toLowerCase() : value;
  return v !== 'keep-alive' && v !== 'close';
}

/** Reads a raw `[name, value, ...]` list in one pass. */
export function scanHeaders(raw: readonly string[]): RequestHeaders {
  let hostCount = 0;
  let knownTransferCoding = true;
  let transferCodings = 0;
  let authorization: string | undefined;
  let authorizationCount = 0;
  let userAgent: string | undefined;
  let referer: string | undefined;
  let forwardedFor: string[] | undefined;
  let forwardedProto: string | undefined;
  let connectionNames = false;
  let expect: string | undefined;
  let contentLength = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') hostCount++;
        break;
      case 6:
        if (name.toLowerCase() === 'expect') expect ??= raw[i + 1]!;
        break;
      case 7:
        if (name.toLowerCase() === 'referer') referer ??= raw[i + 1]!;
        break;
      case 10: {
        const lower = name.toLowerCase();
        if (lower === 'user-agent') userAgent ??= raw[i + 1]!;
        else if (lower === 'connection' && !connectionNames) connectionNames = namesHeaders(raw[i + 1]!);
        break;
      }
      case 13:
        if (name.toLowerCase() === 'authorization') {
          authorization ??= raw[i + 1]!;
          authorizationCount++;
        }
        break;
      case 14:
        if (!contentLength && name.toLowerCase() === 'content-length') contentLength = true;
        break;
      case 15:
        if (name.toLowerCase() === 'x-forwarded-for') (forwardedFor ??= []).push(raw[i + 1]!);
        break;
      case 17: {
        const lower = name.toLowerCase();
        // Every line, as one list (RFC 9110 §5.3): a proxy that adds a line leaves the caller's before it.
        if (lower === 'x-forwarded-proto') forwardedProto = forwardedProto === undefined ? raw[i + 1]! : `${forwardedProto},${raw[i + 1]!}`;
        else if (lower === 'transfer-encoding') {
          // node:http hands over a request with an unknown coding (`xchunked`) before it fails on
          // the body; forwarding it would send the upstream a body that never ends.
          transferCodings++;
          if (transferCodings > 1 || raw[i + 1]!.trim().toLowerCase() !== 'chunked') knownTransferCoding = false;
        }
        break;
      }
    }
  }
  const framesBody = contentLength || transferCodings > 0;
  return { hostCount, knownTransferCoding, authorization, authorizationCount, userAgent, referer, forwardedFor, forwardedProto, connectionNames, expect, framesBody };
}
