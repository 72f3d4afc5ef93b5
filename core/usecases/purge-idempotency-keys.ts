import type { TransactionPort } from '../ports/transaction.port.js';

/**
 * How much one round may purge, and how often rounds come. One batch is one
 * short transaction of at most `batchSize` rows (a DELETE by primary key:
 * milliseconds), so a claimer of one of those keys waits at most that long;
 * a round is at most `maxBatchesPerRound` batches, so a backlog (the first
 * run on a database that never purged) is worked off over several rounds
 * instead of in one long burst. 500 × 20 per minute is 600,000 keys an hour
 * per instance, far above what charges and payments store; several
 * instances share the work (their batches skip each other's rows).
 */
export const IDEMPOTENCY_PURGE = {
  batchSize: 500,
  maxBatchesPerRound: 20,
  intervalMs: 60_000,
} as const;

export interface PurgeIdempotencyKeysSettings {
  /** A stored key is kept at least this long: a client retrying within it gets the stored answer. */
  readonly retentionMs: number;
  readonly batchSize: number;
  readonly maxBatchesPerRound: number;
}

export interface PurgeOutcome {
  readonly purged: number;
  /** The round stopped at its bound with old keys left: the next round goes on. */
  readonly backlog: boolean;
}

/**
 * Deletes stored Idempotency-Keys older than the retention, so that the
 * table holds a retention's worth of keys, not every key ever sent. Safe
 * from several instances at once, and never touches a key in flight
 * (IdempotencyRepository.purgeOlderThan). A purged key is a new key: a
 * request that repeats it after the retention runs again.
 */
export class PurgeIdempotencyKeys {
  constructor(
    private readonly tx: TransactionPort,
    private readonly settings: PurgeIdempotencyKeysSettings,
  ) {}

  async execute(): Promise<PurgeOutcome> {
    const { retentionMs, batchSize, maxBatchesPerRound } = this.settings;
    let purged = 0;
    for (let batch = 0; batch < maxBatchesPerRound; batch++) {
      const deleted = await this.tx.run((uow) => uow.idempotency.purgeOlderThan(retentionMs, batchSize));
      purged += deleted;
      // A short batch: nothing old is left, or other purgers hold the rest.
      if (deleted < batchSize) return { purged, backlog: false };
    }
    return { purged, backlog: true };
  }
}
