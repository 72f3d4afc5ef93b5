/** One OS process running the hold sweeper back to back for `LOOP_MS` after the barrier, as an app instance's job would. */
import { ExpireHolds } from '../../../core/usecases/reservations/expire-holds.js';
import { outcomeOf, required, saleWorkerPorts } from './sale-worker-support.js';

const ports = await saleWorkerPorts();
const expireHolds = new ExpireHolds(ports.lock, ports.tx, ports.clock, ports.catalogCache);
const errors: string[] = [];
let expired = 0;

await ports.start();
const until = Date.now() + Number(required('LOOP_MS'));
while (Date.now() < until) {
  try {
    expired += await expireHolds.execute();
  } catch (error) {
    errors.push(outcomeOf(error));
  }
  await new Promise((resolve) => setTimeout(resolve, 5));
}
await ports.finish({ expired, errors });
