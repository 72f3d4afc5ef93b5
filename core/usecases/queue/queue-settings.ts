/** The queue's knobs (QUEUE_* in API.md), in the units the use cases compute with. */
export interface QueueSettings {
  /** Tokens ACTIVE at once. */
  readonly activeMax: number;
  /** How often admission runs in each instance. */
  readonly admitIntervalMs: number;
  /** How long an ACTIVE token lives. */
  readonly activeTtlMs: number;
  /** A waiter silent this long is dropped from the line (QUEUE_PRESENCE_TIMEOUT_SECONDS). */
  readonly presenceTimeoutMs: number;
}
