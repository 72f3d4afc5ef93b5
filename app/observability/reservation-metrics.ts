import type { Registry } from 'prom-client';
import { Counter } from 'prom-client';

/** Holds this instance's sweeper ended (reservation EXPIRED, seat AVAILABLE again). */
export function expiredHoldsCounter(registry: Registry): Counter {
  return new Counter({ name: 'reservation_holds_expired_total', help: 'Ended holds released by this instance\'s sweeper.', registers: [registry] });
}

/** Paid sales whose queue token could not be expired (the queue was down): the token then ends on its own TTL. */
export function tokenNotExpiredCounter(registry: Registry): Counter {
  return new Counter({
    name: 'payment_token_expiry_failures_total',
    help: 'Payments that committed but could not expire their queue token.',
    registers: [registry],
  });
}

/** Holds that committed but could not extend their queue token to the hold's end (the queue was down): the buyer may lose the token before the hold. */
export function tokenNotExtendedCounter(registry: Registry): Counter {
  return new Counter({
    name: 'reservation_token_extension_failures_total',
    help: 'Holds that committed but could not extend their queue token to the hold end.',
    registers: [registry],
  });
}
