import type { ScheduleWithAvailability } from '../../domain/catalog.js';
import { MAX_PRICE, MAX_SEATS_PER_SCHEDULE } from '../../domain/catalog.js';
import { parseDateTime } from '../../domain/catalog-rules.js';
import { NotFoundError } from '../../domain/errors.js';
import { requireId, requireIntegerInRange } from '../../domain/validation.js';
import type { IdGenerator } from '../../ports/id-generator.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';
import type { CatalogCache } from './catalog-cache.js';

export interface CreateScheduleInput {
  readonly concertId: string;
  /** ISO-8601 with an offset. */
  readonly startsAt: string;
  readonly seatCount: number;
  /** Every seat of the schedule costs this, in points. */
  readonly price: number;
}

export interface CreateScheduleOutput extends ScheduleWithAvailability {
  readonly price: number;
}

/**
 * Admin: adds a date to a concert, with its seats 1..seatCount AVAILABLE.
 * The concert is checked in the same transaction that inserts the schedule.
 */
export class CreateSchedule {
  constructor(
    private readonly tx: TransactionPort,
    private readonly ids: IdGenerator,
    private readonly cache: CatalogCache,
  ) {}

  async execute(input: CreateScheduleInput): Promise<CreateScheduleOutput> {
    requireId('concertId', input.concertId);
    const startsAt = parseDateTime('startsAt', input.startsAt);
    requireIntegerInRange('seatCount', input.seatCount, 1, MAX_SEATS_PER_SCHEDULE);
    requireIntegerInRange('price', input.price, 0, MAX_PRICE);

    const schedule = { id: this.ids.next(), concertId: input.concertId, startsAt, totalSeats: input.seatCount };
    await this.tx.run(async (uow) => {
      if ((await uow.catalog.findConcert(input.concertId)) === undefined) throw new NotFoundError(`no concert ${input.concertId}`);
      await uow.catalog.createSchedule(schedule, input.price);
    });
    await this.cache.scheduleAdded(input.concertId);
    return { ...schedule, availableSeats: schedule.totalSeats, price: input.price };
  }
}
