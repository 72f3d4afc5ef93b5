import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { accessTokenFor, CliError, variable } from './access-token.js';

/**
 * `npm run demo`: the README's sale against a running service (BASE, by
 * default http://localhost:3000), printing every request and its answer.
 * A new buyer each run: charge points, take a queue token, wait until
 * ACTIVE, pick the first AVAILABLE seat of the first schedule, hold it, pay
 * it, and show it SOLD and the reservation CONFIRMED. Exits 1 at the first
 * answer that is not the one the sale expects, having printed it.
 *
 * Access tokens are signed as `npm run token` signs them (AUTH_JWT_SECRET,
 * or the embedded secret in DATA_DIR): run it where the service runs.
 */

const BASE = (variable('BASE') ?? 'http://localhost:3000').replace(/\/$/, '');
/** Admission runs every QUEUE_ADMIT_INTERVAL_MS (1 s by default); a line longer than this is not a demo. */
const ACTIVE_WITHIN_MS = 60_000;
/** Every request is bounded: a service that hangs ends the demo with a message, not a stuck terminal. */
const REQUEST_TIMEOUT_MS = 10_000;

type Json = Record<string, unknown>;

/** One request, printed with its answer; fails unless the status is one of `expected`. */
async function send(method: string, path: string, options: { headers?: Record<string, string>; body?: Json; expected?: number[]; quiet?: boolean } = {}): Promise<Json> {
  const headers = { ...options.headers, ...(options.body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (options.quiet !== true) console.log(`→ ${method} ${path}${options.body === undefined ? '' : ` ${JSON.stringify(options.body)}`}`);
  let response: Response;
  try {
    response = await fetch(`${BASE}${path}`, {
      method,
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  } catch (error) {
    throw new CliError(`no answer from ${BASE}${path} (${error instanceof Error ? error.message : String(error)}): is the service running? (npm start)`);
  }
  const text = await response.text();
  const body = (text === '' ? {} : JSON.parse(text)) as Json;
  if (options.quiet !== true) console.log(`← ${response.status} ${text}`);
  if (!(options.expected ?? [200]).includes(response.status)) throw new CliError(`${method} ${path} answered ${response.status}, not ${(options.expected ?? [200]).join(' or ')}`);
  return body;
}

async function main(): Promise<void> {
  const buyer = `demo-${randomBytes(4).toString('hex')}`;
  console.log(`A sale for a new buyer, ${buyer}, at ${BASE}\n`);
  const auth = { Authorization: `Bearer ${await accessTokenFor(buyer)}` };

  await send('POST', '/users/me/points/charge', { headers: { ...auth, 'Idempotency-Key': `charge-${buyer}` }, body: { amount: 100_000 } });
  const issued = await send('POST', '/queue/tokens', { headers: auth, expected: [200, 201] });
  const sale = { ...auth, 'Queue-Token': String(issued.token) };

  // Asking where you stand keeps you in line; admission rounds run on the service's own interval.
  const deadline = Date.now() + ACTIVE_WITHIN_MS;
  let current = await send('GET', '/queue/tokens/current', { headers: auth });
  while (current.status !== 'ACTIVE') {
    if (Date.now() > deadline) throw new CliError(`still ${String(current.status)} after ${ACTIVE_WITHIN_MS / 1_000} s`);
    await sleep(500); // the pace of a person polling, not a synchronisation
    current = await send('GET', '/queue/tokens/current', { headers: auth, quiet: true });
  }
  console.log(`← ACTIVE: ${JSON.stringify(current)}`);

  const { concerts } = (await send('GET', '/concerts')) as { concerts: { id: string }[] };
  const concert = concerts[0];
  if (concert === undefined) throw new CliError('the catalog is empty: start the service with SEED_DEMO=true (the default)');
  const { schedules } = (await send('GET', `/concerts/${concert.id}/schedules`)) as { schedules: { id: string }[] };
  const schedule = schedules[0];
  if (schedule === undefined) throw new CliError(`concert ${concert.id} has no schedule`);
  const { seats } = (await send('GET', `/schedules/${schedule.id}/seats`)) as { seats: { seatNo: number; status: string }[] };
  const seat = seats.find((candidate) => candidate.status === 'AVAILABLE');
  if (seat === undefined) throw new CliError(`schedule ${schedule.id} is sold out`);

  const held = await send('POST', '/reservations', { headers: sale, body: { scheduleId: schedule.id, seatNo: seat.seatNo }, expected: [201] });
  const reservationId = String(held.reservationId);
  await send('POST', `/reservations/${reservationId}/payment`, { headers: { ...sale, 'Idempotency-Key': `pay-${reservationId}` }, expected: [201] });
  const after = (await send('GET', `/schedules/${schedule.id}/seats`, { quiet: true })) as { seats: { seatNo: number; status: string }[] };
  console.log(`seat ${seat.seatNo}: ${after.seats.find((candidate) => candidate.seatNo === seat.seatNo)?.status ?? 'missing'}`);
  const mine = (await send('GET', '/users/me/reservations', { headers: auth, quiet: true })) as { items: { reservationId: string; status: string }[] };
  console.log(`reservation ${reservationId}: ${mine.items.find((item) => item.reservationId === reservationId)?.status ?? 'missing'}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof CliError ? `demo: ${error.message}` : error);
  process.exitCode = 1;
});
