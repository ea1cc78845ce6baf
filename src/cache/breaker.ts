// A circuit breaker for calls to a shared dependency: after `failures` failures in a row it opens
// and refuses every call for `cooldownMs`; then it lets one trial call through (half-open), which
// closes it on success or opens it for another cool-down on failure.

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failures: number;
  /** How long an open breaker refuses calls, ms. */
  readonly cooldownMs: number;
  readonly now: () => number;
  /** Told about every change of state. */
  readonly onChange?: (state: BreakerState) => void;
}

export interface Breaker {
  /** Whether a call may go out now; in half-open state only one trial is let through at a time. */
  allow(): boolean;
  success(): void;
  failure(): void;
  state(): BreakerState;
}

/** Creates a closed breaker. */
export function createBreaker(options: BreakerOptions): Breaker {
  const { failures: threshold, cooldownMs, now } = options;
  let state: BreakerState = 'closed';
  let failures = 0;
  let openUntil = 0;
  let trialOut = false;

  const move = (next: BreakerState): void => {
    if (next === state) return;
    state = next;
    options.onChange?.(next);
  };
  const open = (): void => {
    openUntil = now() + cooldownMs;
    trialOut = false;
    move('open');
  };

  return {
    allow() {
      if (state === 'closed') return true;
      if (state === 'open') {
        if (now() < openUntil) return false;
        move('half-open');
      }
      if (trialOut) return false;
      trialOut = true;
      return true;
    },
    success() {
      failures = 0;
      trialOut = false;
      move('closed');
    },
    failure() {
      if (state === 'half-open') {
        open();
        return;
      }
      failures += 1;
      if (state === 'closed' && failures >= threshold) open();
    },
    state: () => state,
  };
}
