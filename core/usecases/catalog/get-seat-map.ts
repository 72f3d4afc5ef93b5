import type { Seat } from '../../domain/catalog.js';
import { NotFoundError } from '../../domain/errors.js';
import { requireId } from '../../domain/validation.js';
import type { Clock } from '../../ports/clock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

/** The seats of a schedule as a buyer sees them now: a hold that has ended shows AVAILABLE. */
export class GetSeatMap {
  constructor(
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
  ) {}

  async execute(scheduleId: string): Promise<Seat[]> {
    requireId('scheduleId', scheduleId);
    return this.tx.run(async (uow) => {
      if ((await uow.catalog.findSchedule(scheduleId)) === undefined) throw new NotFoundError(`no schedule ${scheduleId}`);
      return uow.catalog.seatMap(scheduleId, this.clock.now());
    });
  }
}
