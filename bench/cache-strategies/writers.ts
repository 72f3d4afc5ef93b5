/**
 * The steady write load of a sale: `users` buyers, each in a loop of its
 * own, reserving the next free seat and paying for it at once, paced so
 * that all of them together aim at `writesPerS` (a reserve and a payment
 * are two writes). Every committed change is told to `onCommitted` with the
 * moment its 2xx arrived.
 *
 * A payment spends the buyer's queue token once it leaves the buyer no
 * PENDING reservation (API.md): each buyer keeps one hold of its own on
 * another schedule (the anchor, made in setup), so that one token lasts the
 * whole window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { bearer, summarise } from '../support.js';
import type { SeatStatus } from './staleness.js';

export interface Buyer {
  readonly accessToken: string;
  readonly queueToken: string;
  /** The instance it writes to. */
  readonly url: string;
}

export interface WriteOptions {
  readonly buyers: readonly Buyer[];
  readonly scheduleId: string;
  /** Seats of the schedule, numbered from 1: once all are taken the writers stop. */
  readonly seats: number;
  readonly writesPerS: number;
  readonly durationS: number;
  readonly onCommitted: (at: number, seatNo: number, status: SeatStatus) => void;
}

export interface WriteFigures {
  readonly targetPerS: number;
  readonly reserves: number;
  readonly payments: number;
  readonly writesPerS: number;
  readonly elapsedS: number;
  /** Latency of the committed writes, ms. */
  readonly p50: number;
  readonly p99: number;
  /** Answers other than a 2xx, by "kind status". */
  readonly refused: Readonly<Record<string, number>>;
  /** The seats ran out before the window ended. */
  readonly ranOut: boolean;
}

export async function writeLoad(options: WriteOptions): Promise<WriteFigures> {
  const started = performance.now();
  const endAt = started + options.durationS * 1000;
  // Each loop makes one reserve and one payment per cycle.
  const cycleMs = (2 * options.buyers.length * 1000) / options.writesPerS;
  let nextSeat = 1;
  let reserves = 0;
  let payments = 0;
  let ranOut = false;
  const times: number[] = [];
  const refused: Record<string, number> = {};
  const refuse = (kind: string, status: number) => (refused[`${kind} ${status}`] = (refused[`${kind} ${status}`] ?? 0) + 1);

  const post = async (buyer: Buyer, path: string, body?: unknown, extra: Record<string, string> = {}) => {
    const sentAt = performance.now();
    const headers = { ...bearer(buyer.accessToken), 'Queue-Token': buyer.queueToken, 'content-type': 'application/json', ...extra };
    const response = await fetch(`${buyer.url}${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await response.text();
    const at = performance.now();
    if (response.ok) times.push(at - sentAt);
    return { status: response.status, ok: response.ok, text, at };
  };

  const loop = async (buyer: Buyer, index: number) => {
    // Spread over the first cycle, so the loops do not fire together.
    let nextAt = started + (cycleMs * index) / options.buyers.length;
    while (performance.now() < endAt) {
      const wait = nextAt - performance.now();
      if (wait > 0) await sleep(wait); // pacing to the target rate
      if (performance.now() >= endAt) return;
      nextAt = Math.max(nextAt + cycleMs, performance.now());
      if (nextSeat > options.seats) {
        ranOut = true;
        return;
      }
      const seatNo = nextSeat++;
      const reserve = await post(buyer, '/reservations', { scheduleId: options.scheduleId, seatNo });
      if (!reserve.ok) {
        refuse('reserve', reserve.status);
        continue;
      }
      reserves++;
      options.onCommitted(reserve.at, seatNo, 'HELD');
      const { reservationId } = JSON.parse(reserve.text) as { reservationId: string };
      const pay = await post(buyer, `/reservations/${reservationId}/payment`, undefined, { 'Idempotency-Key': `pay-${reservationId}` });
      if (!pay.ok) {
        refuse('pay', pay.status);
        continue;
      }
      payments++;
      options.onCommitted(pay.at, seatNo, 'SOLD');
    }
  };

  await Promise.all(options.buyers.map((buyer, i) => loop(buyer, i)));
  // Until the last write answered: a write sent just before the end of the window is counted, so its time is too.
  const elapsedS = (performance.now() - started) / 1000;
  const latency = summarise(times);
  return {
    targetPerS: options.writesPerS,
    reserves,
    payments,
    writesPerS: (reserves + payments) / elapsedS,
    elapsedS,
    p50: latency.p50,
    p99: latency.p99,
    refused,
    ranOut,
  };
}
