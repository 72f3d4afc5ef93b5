import type { Concert, Schedule } from '../../domain/catalog.js';
import { LockBusyError } from '../../domain/errors.js';
import { lockKeys } from '../../keys.js';
import type { Clock } from '../../ports/clock.port.js';
import type { LockPort } from '../../ports/lock.port.js';
import type { TransactionPort } from '../../ports/transaction.port.js';

export const DEMO_CONCERT: Concert = { id: 'demo-concert', title: 'Demo Concert', venue: 'Demo Hall' };
export const DEMO_SEATS = 50;
export const DEMO_PRICE = 50_000;
const DEMO_SCHEDULE_IDS = ['demo-schedule-1', 'demo-schedule-2'] as const;
const DAY_MS = 86_400_000;

export type SeedOutcome = 'seeded' | 'not-empty' | 'busy';

/**
 * Puts a demo catalog into an empty database at start (SEED_DEMO): one
 * concert with two dates of 50 seats numbered 1..50. Several instances may
 * start at once: the seed runs under one lock key, and the emptiness check
 * is inside the transaction under it, so the second instance finds the
 * first one's rows and does nothing. The ids are fixed, so even a seed whose
 * lease was lost cannot add a second demo concert: the primary key refuses it.
 */
export class SeedDemoCatalog {
  constructor(
    private readonly lock: LockPort,
    private readonly tx: TransactionPort,
    private readonly clock: Clock,
    private readonly options: { readonly waitMs: number } = { waitMs: 10_000 },
  ) {}

  async execute(): Promise<SeedOutcome> {
    try {
      return await this.lock.withLock(
        [lockKeys.demoSeed()],
        (lease) =>
          this.tx.run(
            async (uow) => {
              if ((await uow.catalog.listConcerts()).length > 0) return 'not-empty' as const;
              await uow.catalog.createConcert(DEMO_CONCERT);
              for (const [i, schedule] of this.schedules().entries()) {
                await uow.catalog.createSchedule(schedule, DEMO_PRICE + i * 10_000);
              }
              return 'seeded' as const;
            },
            { signal: lease.signal },
          ),
        { wait: { kind: 'wait', maxWaitMs: this.options.waitMs } },
      );
    } catch (error) {
      // Another instance has been seeding for the whole wait: it will finish; starting without waiting more is fine.
      if (error instanceof LockBusyError) return 'busy';
      throw error;
    }
  }

  /** Dates a month ahead, on the hour, so that the demo never shows a concert in the past when first seeded. */
  private schedules(): Schedule[] {
    const firstDay = Math.floor(this.clock.now().getTime() / DAY_MS) * DAY_MS + 30 * DAY_MS;
    return DEMO_SCHEDULE_IDS.map((id, i) => ({
      id,
      concertId: DEMO_CONCERT.id,
      startsAt: new Date(firstDay + i * DAY_MS + 19 * 3_600_000),
      totalSeats: DEMO_SEATS,
    }));
  }
}
