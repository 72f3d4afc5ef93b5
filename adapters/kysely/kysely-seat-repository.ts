import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import { NotFoundError, ReservationNotPendingError, SeatUnavailableError } from '../../core/domain/errors.js';
import type { SeatRepository } from '../../core/ports/seat.repository.js';
import type { Database } from './schema.js';

/**
 * Each write is one conditional statement on the seat's row: it takes the
 * row lock (a concurrent writer waits until this transaction ends) and
 * decides on the latest committed version, so it is safe without the lock.
 * Seat rows are locked FOR NO KEY UPDATE, the mode an UPDATE takes, so a
 * reservation's foreign-key check on the seat never waits on a hold.
 */
export class KyselySeatRepository implements SeatRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async hold(
    scheduleId: string,
    seatNo: number,
    reservationId: string,
    until: Date,
    now: Date,
  ): Promise<{ price: number; replaced: string | undefined }> {
    // The subquery locks the row (waiting for a writer to end) and reads its latest committed
    // version; the rule is judged on that version, and it also names the hold being replaced.
    // OFFSET 0 keeps the planner from pushing the rule below the lock: pushed down, a row that
    // fails it in the statement's snapshot (a hold being released right now) is neither locked
    // nor re-read, and the seat would be refused on a version that is no longer the latest.
    const { rows } = await sql<{ price: number; replaced: string | null }>`
      update seats
      set status = 'HELD', held_by = ${reservationId}, held_until = ${until}
      from (
        select schedule_id, seat_no, status, held_by, held_until
        from seats
        where schedule_id = ${scheduleId} and seat_no = ${seatNo}
        for no key update
        offset 0
      ) as prev
      where seats.schedule_id = prev.schedule_id and seats.seat_no = prev.seat_no
        and (prev.status = 'AVAILABLE' or (prev.status = 'HELD' and prev.held_until <= ${now}))
      returning seats.price, prev.held_by as replaced
    `.execute(this.db);
    const held = rows[0];
    if (held !== undefined) return { price: held.price, replaced: held.replaced ?? undefined };
    const exists = await this.db
      .selectFrom('seats')
      .select('seat_no')
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', seatNo)
      .executeTakeFirst();
    if (exists === undefined) throw new NotFoundError(`seat ${seatNo} of schedule ${scheduleId} not found`);
    throw new SeatUnavailableError(scheduleId, seatNo);
  }

  async sell(scheduleId: string, seatNo: number, reservationId: string): Promise<void> {
    const result = await this.db
      .updateTable('seats')
      .set({ status: 'SOLD', held_by: null, held_until: null })
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', seatNo)
      .where('status', '=', 'HELD')
      .where('held_by', '=', reservationId)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new ReservationNotPendingError(reservationId, 'no longer holding its seat');
  }

  async release(scheduleId: string, seatNo: number, reservationId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('seats')
      .set({ status: 'AVAILABLE', held_by: null, held_until: null })
      .where('schedule_id', '=', scheduleId)
      .where('seat_no', '=', seatNo)
      .where('status', '=', 'HELD')
      .where('held_by', '=', reservationId)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }
}
