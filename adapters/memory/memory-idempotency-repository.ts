import type { ClaimResult, IdempotencyRecord, IdempotencyRepository } from '../../core/ports/idempotency.repository.js';
import type { MemoryTransaction } from './memory-database.js';
import type { Tick } from './tick.js';

const KEYS = 'idempotency_keys';

/**
 * With `guarded`, a claim takes the key's row lock first, like an INSERT on a
 * unique index: a second claimer waits for the first to end, then sees its
 * record. Without it, check-then-insert races (for property tests' teeth).
 */
export class MemoryIdempotencyRepository implements IdempotencyRepository {
  constructor(
    private readonly tx: MemoryTransaction,
    private readonly tick: Tick,
    private readonly guarded: boolean,
  ) {}

  async claim(request: { scope: string; key: string; fingerprint: string }): Promise<ClaimResult> {
    await this.tick();
    const id = rowId(request.scope, request.key);
    if (this.guarded) await this.tx.lockRow(KEYS, id);
    const existing = this.tx.read<IdempotencyRecord>(KEYS, id);
    if (existing !== undefined) return { claimed: false, existing };
    if (!this.guarded) {
      await this.tick();
      await this.tx.lockRow(KEYS, id);
    }
    this.tx.write(KEYS, id, { ...request, response: undefined } satisfies IdempotencyRecord);
    return { claimed: true };
  }

  async complete(scope: string, key: string, response: unknown): Promise<void> {
    await this.tick();
    const id = rowId(scope, key);
    const claimed = this.tx.read<IdempotencyRecord>(KEYS, id);
    if (claimed === undefined) throw new Error(`idempotency key ${id} was not claimed in this transaction`);
    this.tx.write(KEYS, id, { ...claimed, response });
  }
}

function rowId(scope: string, key: string): string {
  return JSON.stringify([scope, key]);
}
