/**
 * Optimistic concurrency: no lock at all. A write reads the row with its
 * version, decides in the application, then writes only if the version is
 * still the one it read (`… where version = $read`, bumping it). A row
 * changed in between writes nothing: VersionConflictError, the transaction
 * rolls back, and RetryingTransaction runs it again from the start. The
 * `version` columns exist in the bench database only (bench.ts,
 * addVersionColumns); the schema's constraints stay. Statements that are
 * already a compare-and-set on their own row (confirm: PENDING → CONFIRMED;
 * sell: HELD by this reservation → SOLD) stay as they ship.
 */
import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { BalanceLimitExceededError, InsufficientPointsError, NotFoundError, SeatUnavailableError } from '../../../core/domain/errors.js';
import type { UnitOfWork } from '../../../core/ports/transaction.port.js';
import { KyselyPointsRepository } from '../../../adapters/kysely/kysely-points-repository.js';
import { KyselySeatRepository } from '../../../adapters/kysely/kysely-seat-repository.js';
import type { Database } from '../../../adapters/kysely/schema.js';
import { guardedUnitOfWork, VersionConflictError } from './bench-transaction.js';

class OptimisticPoints extends KyselyPointsRepository {
  constructor(private readonly trx: Kysely<Database>) {
    super(trx);
  }

  private async write(userId: string, change: (balance: number) => number): Promise<number> {
    const { rows } = await sql<{ balance: number; version: string }>`select balance, version from user_points where user_id = ${userId}`.execute(this.trx);
    const read = rows[0];
    if (read === undefined) throw new NotFoundError(`no wallet ${userId} (the bench creates every wallet first)`);
    const balance = change(read.balance);
    const written = await sql`update user_points set balance = ${balance}, version = version + 1 where user_id = ${userId} and version = ${read.version}`.execute(this.trx);
    if (written.numAffectedRows === 0n) throw new VersionConflictError(`wallet ${userId}`);
    return balance;
  }

  override credit(userId: string, amount: number, limit: number): Promise<number> {
    return this.write(userId, (balance) => {
      if (balance + amount > limit) throw new BalanceLimitExceededError(limit);
      return balance + amount;
    });
  }

  override debit(userId: string, amount: number): Promise<number> {
    return this.write(userId, (balance) => {
      if (balance < amount) throw new InsufficientPointsError(balance, amount);
      return balance - amount;
    });
  }
}

class OptimisticSeats extends KyselySeatRepository {
  constructor(private readonly trx: Kysely<Database>) {
    super(trx);
  }

  override async hold(scheduleId: string, seatNo: number, reservationId: string, until: Date, now: Date): Promise<{ price: number; replaced: string | undefined }> {
    const { rows } = await sql<{ price: number; status: string; held_by: string | null; held_until: Date | null; version: string }>`
      select price, status, held_by, held_until, version from seats where schedule_id = ${scheduleId} and seat_no = ${seatNo}`.execute(this.trx);
    const seat = rows[0];
    if (seat === undefined) throw new NotFoundError(`seat ${seatNo} of schedule ${scheduleId} not found`);
    const ended = seat.status === 'HELD' && seat.held_until !== null && seat.held_until.getTime() <= now.getTime();
    if (seat.status !== 'AVAILABLE' && !ended) throw new SeatUnavailableError(scheduleId, seatNo);
    const written = await sql`
      update seats set status = 'HELD', held_by = ${reservationId}, held_until = ${until}, version = version + 1
      where schedule_id = ${scheduleId} and seat_no = ${seatNo} and version = ${seat.version}`.execute(this.trx);
    if (written.numAffectedRows === 0n) throw new VersionConflictError(`seat ${seatNo} of schedule ${scheduleId}`);
    return { price: seat.price, replaced: ended ? (seat.held_by ?? undefined) : undefined };
  }
}

export function optimisticUnitOfWork(db: Kysely<Database>): UnitOfWork {
  return { ...guardedUnitOfWork(db), points: new OptimisticPoints(db), seats: new OptimisticSeats(db) };
}
