// The gRPC server's budget of checks being decided: how many at once, and how many bytes of
// decoded checks they hold. One client can open many connections and many calls on each, and
// every check may be up to 24 MiB decoded; past the budget a check is denied at once rather
// than decided, so what iamgate holds stays bounded whoever asks.

/** Counters of the checks being decided; admit and release once each, in pairs. */
export interface InFlightBudget {
  /** Counts a check of `bytes` in, or answers false (counting nothing) when it would exceed the budget. */
  admit(bytes: number): boolean;
  /** Counts an admitted check of `bytes` out. */
  release(bytes: number): void;
  /** Checks being decided now. */
  checks(): number;
  /** Bytes of the checks being decided now, as they were received. */
  bytes(): number;
}

/**
 * A budget of `maxChecks` checks and `maxBytes` bytes. A check larger than the byte budget is
 * still admitted when nothing else is in flight: every check the decoder accepts can be decided.
 */
export function createInFlightBudget(maxChecks: number, maxBytes: number): InFlightBudget {
  let checks = 0;
  let bytes = 0;
  return {
    admit(size) {
      if (checks >= maxChecks || (checks > 0 && bytes + size > maxBytes)) return false;
      checks += 1;
      bytes += size;
      return true;
    },
    release(size) {
      checks -= 1;
      bytes -= size;
    },
    checks: () => checks,
    bytes: () => bytes,
  };
}
