import { BALANCE_LIMIT, MAX_CHARGE, MIN_CHARGE } from '../domain/points.js';
import { requireId, requireIdempotencyKey, requireIntegerInRange } from '../domain/validation.js';
import { lockKeys } from '../keys.js';
import type { Clock } from '../ports/clock.port.js';
import type { LockPort } from '../ports/lock.port.js';
import type { TransactionPort } from '../ports/transaction.port.js';
import { claimOrReplay, guardInFlight, idempotentRequest } from './idempotency.js';

export interface ChargePointsInput {
  readonly userId: string;
  readonly amount: number;
  readonly idempotencyKey?: string;
}

export interface ChargePointsOutput {
  readonly userId: string;
  readonly balance: number;
  /** True when this answer is the stored one of an earlier request with the same Idempotency-Key. */
  readonly replayed: boolean;
}

export interface ChargePointsOptions {
  /** How long a charge waits behind the same user's other wallet writes. */
  readonly walletWaitMs: number;
}

/**
 * Adds points to a wallet. Validates outside the lock, then under the
 * wallet's lock runs one transaction: claim the Idempotency-Key, credit in a
 * guarded statement, append history. The lock is released after commit.
 */
export class ChargePoints {
  constructor(
    private readonly lock: LockPort,
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly options: ChargePointsOptions = { walletWaitMs: 2_000 },
  ) {}

  async execute(input: ChargePointsInput): Promise<ChargePointsOutput> {
    requireId('userId', input.userId);
    requireIntegerInRange('amount', input.amount, MIN_CHARGE, MAX_CHARGE);
    if (input.idempotencyKey !== undefined) requireIdempotencyKey(input.idempotencyKey);
    const request = idempotentRequest(`charge-points:${input.userId}`, input.idempotencyKey, { amount: input.amount });

    return guardInFlight(this.lock, request, () =>
      this.lock.withLock(
        [lockKeys.points(input.userId)],
        (lease) =>
          this.tx.run(
            async (uow) => {
              const stored = await claimOrReplay<Omit<ChargePointsOutput, 'replayed'>>(uow, request);
              if (stored !== undefined) return { ...stored, replayed: true };

              const balance = await uow.points.credit(input.userId, input.amount, BALANCE_LIMIT);
              await uow.points.appendHistory({
                userId: input.userId,
                kind: 'CHARGE',
                amount: input.amount,
                balanceAfter: balance,
                at: this.clock.now(),
              });
              const answer = { userId: input.userId, balance };
              if (request !== undefined) await uow.idempotency.complete(request.scope, request.key, answer);
              return { ...answer, replayed: false };
            },
            { signal: lease.signal },
          ),
        { wait: { kind: 'wait', maxWaitMs: this.options.walletWaitMs } },
      ),
    );
  }
}
