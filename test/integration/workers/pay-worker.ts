/**
 * One OS process paying reservations: `USER_ID` pays every reservation of
 * `RESERVATIONS` (comma-separated) at once after the barrier. Prints how
 * each payment ended and when it was answered.
 */
import { ExpireToken } from '../../../core/usecases/queue/expire-token.js';
import { PayReservation } from '../../../core/usecases/reservations/pay-reservation.js';
import { outcomeOf, required, saleWorkerPorts } from './sale-worker-support.js';

const ports = await saleWorkerPorts();
// This worker is about the race with the hold's end, not the wait policy: each payment waits its turn on the wallet.
const pay = new PayReservation(ports.lock, ports.tx, ports.clock, ports.ids, new ExpireToken(ports.queue, ports.clock), ports.catalogCache, { lockWaitMs: 60_000 });
const userId = required('USER_ID');

await ports.start();
const outcomes = await Promise.all(
  required('RESERVATIONS')
    .split(',')
    .map((reservationId) =>
      // The token names nobody: expiring it is a no-op, as for a buyer whose token already ended.
      pay.execute({ userId, token: 'no-such-token-0000', reservationId }).then(
        () => ({ reservationId, outcome: 'ok' }),
        (error: unknown) => ({ reservationId, outcome: outcomeOf(error) }),
      ),
    ),
);
await ports.finish({ outcomes });
