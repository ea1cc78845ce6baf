// How one forwarded request ended, as the gateway records it.
import { classifyProxyError, describeError, type ProxyFailure } from './errors.js';

export type ProxyResult =
  | { readonly ok: true; readonly status: number }
  | {
      readonly ok: false;
      readonly failure: ProxyFailure;
      /** True when response headers had already gone to the caller (the connection was then cut). */
      readonly responded: boolean;
      /** The upstream status, when the failure came after it (a body timeout). */
      readonly status: number | undefined;
      /** Error code or name, for logs. */
      readonly cause: string;
    };

/** The result of a request that failed with `err`. */
export function failure(err: unknown, responded: boolean, status: number | undefined): ProxyResult {
  return { ok: false, failure: classifyProxyError(err), responded, status, cause: describeError(err) };
}
