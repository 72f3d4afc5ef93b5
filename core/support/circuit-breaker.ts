/**
 * A circuit breaker in front of one dependency, for calls that have a
 * fallback (a cache read can go to the database instead).
 *
 * - closed: every call goes through. `failureThreshold` failures in a row,
 *   with no success between them, open it.
 * - open: no call goes through (`CircuitOpenError`, at once) until `openMs`
 *   have passed since it opened.
 * - half-open: the first call after that is the probe, and the only call let
 *   through until it settles; its success closes the breaker, its failure
 *   opens it for another `openMs`.
 *
 * Only calls let through since the breaker last changed state count: a call
 * admitted before the breaker opened that fails (or succeeds) late says
 * nothing about the dependency now, so it neither keeps it open longer nor
 * closes it; the probe decides. Time is read from `now` (monotonic
 * milliseconds), so tests move it instead of sleeping.
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Failures in a row that open the breaker (at least 1). */
  readonly failureThreshold: number;
  /** How long the breaker stays open before it lets one probe through. */
  readonly openMs: number;
  /** Milliseconds on a clock that never goes back; `performance.now` by default. */
  readonly now?: () => number;
  /** Told of every change of state, in order. */
  readonly onStateChange?: (state: BreakerState) => void;
}

/** The call was not made: the breaker is open (or a probe is already on its way). */
export class CircuitOpenError extends Error {
  constructor() {
    super('circuit open: call not made');
    this.name = 'CircuitOpenError';
  }
}

export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;
  /** Bumped on every change of state: a call's outcome counts only if it was admitted in the current period. */
  private period = 0;
  private readonly now: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    if (!Number.isInteger(options.failureThreshold) || options.failureThreshold < 1) throw new RangeError('failureThreshold must be an integer >= 1');
    if (!(options.openMs >= 0)) throw new RangeError('openMs must be >= 0');
    this.now = options.now ?? (() => performance.now());
  }

  get state(): BreakerState {
    return this.current;
  }

  /** Runs `call` if the breaker lets it through; rejects with `CircuitOpenError` without calling it otherwise. */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const admitted = this.admit();
    let result: T;
    try {
      result = await call();
    } catch (error) {
      this.failed(admitted);
      throw error;
    }
    this.succeeded(admitted);
    return result;
  }

  /** The period the call was admitted in; throws when it may not go through. */
  private admit(): number {
    if (this.current === 'closed') return this.period;
    if (this.current === 'open' && this.now() - this.openedAt >= this.options.openMs) {
      this.moveTo('half-open');
      return this.period;
    }
    throw new CircuitOpenError();
  }

  private succeeded(admittedIn: number): void {
    if (admittedIn !== this.period) return;
    if (this.current === 'half-open') this.moveTo('closed');
    else this.failures = 0;
  }

  private failed(admittedIn: number): void {
    if (admittedIn !== this.period) return;
    if (this.current === 'half-open' || ++this.failures >= this.options.failureThreshold) this.moveTo('open');
  }

  private moveTo(state: BreakerState): void {
    this.current = state;
    this.period++;
    this.failures = 0;
    if (state === 'open') this.openedAt = this.now();
    this.options.onStateChange?.(state);
  }
}
