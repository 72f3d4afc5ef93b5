import type { Seat, SeatStatus } from '../../core/domain/catalog.js';
import { NotFoundError, ReservationNotPendingError, SeatUnavailableError } from '../../core/domain/errors.js';
import type { SeatRepository } from '../../core/ports/seat.repository.js';
import type { MemoryTransaction } from './memory-database.js';
import type { Tick } from './tick.js';

export const SEATS = 'seats';

/** A seat as stored: HELD if and only if `heldBy` and `heldUntil` are set (the table's CHECK). */
export interface SeatRow {
  readonly scheduleId: string;
  readonly seatNo: number;
  readonly price: number;
  readonly status: SeatStatus;
  readonly heldBy: string | undefined;
  readonly heldUntil: Date | undefined;
}

export function seatKey(scheduleId: string, seatNo: number): string {
  return JSON.stringify([scheduleId, seatNo]);
}

/** A hold that ended at or before `now` no longer counts: the seat is free to take. */
export function isFree(row: SeatRow, now: Date): boolean {
  return row.status === 'AVAILABLE' || (row.status === 'HELD' && row.heldUntil !== undefined && row.heldUntil.getTime() <= now.getTime());
}

/** What a buyer sees at `now`. */
export function seatView(row: SeatRow, now: Date): Seat {
  return { scheduleId: row.scheduleId, seatNo: row.seatNo, price: row.price, status: isFree(row, now) ? 'AVAILABLE' : row.status };
}

/**
 * With `guarded` (the default) each write decides on the latest committed row
 * under its row lock, as Postgres does in READ COMMITTED: `hold` locks first
 * (its SQL locks the row, then judges it); `sell` and `release`, conditional
 * UPDATEs, pass over a row that fails their rule as last committed (no lock,
 * no wait), else lock it (waiting for a writer to end) and check again.
 * Without it, a write checks a row read earlier and writes after a tick: the
 * read-then-write race, kept only so property tests can show that they catch it.
 */
export class MemorySeatRepository implements SeatRepository {
  constructor(
    private readonly tx: MemoryTransaction,
    private readonly tick: Tick,
    private readonly guarded: boolean,
  ) {}

  async hold(
    scheduleId: string,
    seatNo: number,
    reservationId: string,
    until: Date,
    now: Date,
  ): Promise<{ price: number; replaced: string | undefined }> {
    await this.tick();
    const key = seatKey(scheduleId, seatNo);
    if (this.guarded) await this.tx.lockRow(SEATS, key);
    const seat = this.tx.read<SeatRow>(SEATS, key);
    if (seat === undefined) throw new NotFoundError(`seat ${seatNo} of schedule ${scheduleId} not found`);
    if (!isFree(seat, now)) throw new SeatUnavailableError(scheduleId, seatNo);
    await this.write(key, { ...seat, status: 'HELD', heldBy: reservationId, heldUntil: until });
    return { price: seat.price, replaced: seat.status === 'HELD' ? seat.heldBy : undefined };
  }

  async sell(scheduleId: string, seatNo: number, reservationId: string): Promise<void> {
    const sold = await this.updateIf(scheduleId, seatNo, reservationId, 'SOLD');
    if (!sold) throw new ReservationNotPendingError(reservationId, 'no longer holding its seat');
  }

  async release(scheduleId: string, seatNo: number, reservationId: string): Promise<boolean> {
    return this.updateIf(scheduleId, seatNo, reservationId, 'AVAILABLE');
  }

  /** `UPDATE seats SET status = $to, held_by = NULL, held_until = NULL WHERE ... AND status = 'HELD' AND held_by = $reservationId`. */
  private async updateIf(scheduleId: string, seatNo: number, reservationId: string, to: SeatStatus): Promise<boolean> {
    await this.tick();
    const key = seatKey(scheduleId, seatNo);
    const heldByIt = (seat: SeatRow | undefined): seat is SeatRow => seat?.status === 'HELD' && seat.heldBy === reservationId;
    let seat = this.tx.read<SeatRow>(SEATS, key);
    if (!heldByIt(seat)) return false;
    if (this.guarded) {
      await this.tx.lockRow(SEATS, key);
      seat = this.tx.read<SeatRow>(SEATS, key);
      if (!heldByIt(seat)) return false;
    }
    await this.write(key, { ...seat, status: to, heldBy: undefined, heldUntil: undefined });
    return true;
  }

  /** Guarded, the row lock is already held; unguarded, the lock is taken only now, a tick after the row was judged. */
  private async write(key: string, row: SeatRow): Promise<void> {
    if (!this.guarded) {
      await this.tick();
      await this.tx.lockRow(SEATS, key);
    }
    this.tx.write(SEATS, key, row);
  }
}
