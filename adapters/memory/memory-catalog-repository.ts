import type { Concert, Schedule, ScheduleWithAvailability, Seat } from '../../core/domain/catalog.js';
import { NotFoundError } from '../../core/domain/errors.js';
import type { CatalogRepository, HoldScope } from '../../core/ports/catalog.repository.js';
import type { MemoryTransaction } from './memory-database.js';
import type { SeatRow } from './memory-seat-repository.js';
import { SEATS, seatKey, seatView } from './memory-seat-repository.js';
import type { Tick } from './tick.js';

const CONCERTS = 'concerts';
const SCHEDULES = 'schedules';

interface ConcertRow extends Concert {
  /** Insertion order, as `created_at default clock_timestamp()` gives it in Postgres. */
  readonly seq: number;
}

/** The catalog tables. Admin writes take their rows' locks; reads see the latest committed rows (and this transaction's own). */
export class MemoryCatalogRepository implements CatalogRepository {
  constructor(
    private readonly tx: MemoryTransaction,
    private readonly tick: Tick,
  ) {}

  async createConcert(concert: Concert): Promise<void> {
    await this.tick();
    await this.tx.lockRow(CONCERTS, concert.id);
    if (this.tx.read(CONCERTS, concert.id) !== undefined) throw new Error(`duplicate key: concert ${concert.id}`);
    const row: ConcertRow = { id: concert.id, title: concert.title, venue: concert.venue, seq: this.tx.nextSequence() };
    this.tx.write(CONCERTS, concert.id, row);
  }

  async listConcerts(): Promise<Concert[]> {
    await this.tick();
    return this.tx
      .rows<ConcertRow>(CONCERTS)
      .sort((a, b) => a.seq - b.seq)
      .map(toConcert);
  }

  async findConcert(concertId: string): Promise<Concert | undefined> {
    await this.tick();
    const row = this.tx.read<ConcertRow>(CONCERTS, concertId);
    return row === undefined ? undefined : toConcert(row);
  }

  async createSchedule(schedule: Schedule, price: number): Promise<void> {
    await this.tick();
    // The foreign key: Postgres refuses a schedule of a concert that does not exist.
    if (this.tx.read(CONCERTS, schedule.concertId) === undefined) throw new NotFoundError(`concert ${schedule.concertId} not found`);
    await this.tx.lockRow(SCHEDULES, schedule.id);
    if (this.tx.read(SCHEDULES, schedule.id) !== undefined) throw new Error(`duplicate key: schedule ${schedule.id}`);
    this.tx.write(SCHEDULES, schedule.id, toSchedule(schedule));
    for (let seatNo = 1; seatNo <= schedule.totalSeats; seatNo++) {
      const key = seatKey(schedule.id, seatNo);
      await this.tx.lockRow(SEATS, key);
      const row: SeatRow = { scheduleId: schedule.id, seatNo, price, status: 'AVAILABLE', heldBy: undefined, heldUntil: undefined };
      this.tx.write(SEATS, key, row);
    }
  }

  async findSchedule(scheduleId: string): Promise<Schedule | undefined> {
    await this.tick();
    const row = this.tx.read<Schedule>(SCHEDULES, scheduleId);
    return row === undefined ? undefined : toSchedule(row);
  }

  async listSchedules(concertId: string, now: Date): Promise<ScheduleWithAvailability[]> {
    await this.tick();
    return this.tx
      .rows<Schedule>(SCHEDULES)
      .filter((schedule) => schedule.concertId === concertId)
      .sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime() || compareText(a.id, b.id))
      .map((schedule) => ({
        ...toSchedule(schedule),
        availableSeats: this.seatsOf(schedule, now).filter((seat) => seat.status === 'AVAILABLE').length,
      }));
  }

  async seatMap(scheduleId: string, now: Date): Promise<Seat[]> {
    await this.tick();
    const schedule = this.tx.read<Schedule>(SCHEDULES, scheduleId);
    return schedule === undefined ? [] : this.seatsOf(schedule, now);
  }

  async nextHoldEnd(scope: HoldScope, now: Date): Promise<Date | undefined> {
    await this.tick();
    const inScope = (row: SeatRow) =>
      'scheduleId' in scope ? row.scheduleId === scope.scheduleId : this.tx.read<Schedule>(SCHEDULES, row.scheduleId)?.concertId === scope.concertId;
    let next: Date | undefined;
    for (const row of this.tx.rows<SeatRow>(SEATS)) {
      if (row.status !== 'HELD' || row.heldUntil === undefined || row.heldUntil.getTime() <= now.getTime() || !inScope(row)) continue;
      if (next === undefined || row.heldUntil.getTime() < next.getTime()) next = row.heldUntil;
    }
    return next;
  }

  async findSeat(scheduleId: string, seatNo: number, now: Date): Promise<Seat | undefined> {
    await this.tick();
    const row = this.tx.read<SeatRow>(SEATS, seatKey(scheduleId, seatNo));
    return row === undefined ? undefined : seatView(row, now);
  }

  private seatsOf(schedule: Schedule, now: Date): Seat[] {
    const seats: Seat[] = [];
    for (let seatNo = 1; seatNo <= schedule.totalSeats; seatNo++) {
      const row = this.tx.read<SeatRow>(SEATS, seatKey(schedule.id, seatNo));
      if (row !== undefined) seats.push(seatView(row, now));
    }
    return seats;
  }
}

function toConcert(row: Concert): Concert {
  return { id: row.id, title: row.title, venue: row.venue };
}

function toSchedule(row: Schedule): Schedule {
  return { id: row.id, concertId: row.concertId, startsAt: row.startsAt, totalSeats: row.totalSeats };
}

/** Byte order, as the Kysely adapter sorts ids (`collate "C"`). */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
