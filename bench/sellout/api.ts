/**
 * The routes a buyer uses (API.md), typed: each call sends through the
 * ServiceClient and checks a 2xx body against its schema, so that the
 * buyer's script reads as the sale does and a changed contract fails loudly
 * (GiveUp, counted as an errored buyer) instead of buying nonsense.
 */
import { z } from 'zod';
import type { Request } from './http.js';
import type { CallPolicy, Home, ServiceClient } from './service-client.js';
import { GiveUp } from './service-client.js';

const QueueTokenSchema = z.object({ token: z.string(), status: z.enum(['WAITING', 'ACTIVE']) });
const ScheduleListSchema = z.object({ schedules: z.array(z.object({ id: z.string(), totalSeats: z.number(), availableSeats: z.number() })) });
const SeatMapSchema = z.object({ seats: z.array(z.object({ seatNo: z.number(), price: z.number(), status: z.enum(['AVAILABLE', 'HELD', 'SOLD']) })) });
const ReservationSchema = z.object({
  reservationId: z.string(),
  scheduleId: z.string(),
  seatNo: z.number(),
  price: z.number(),
  status: z.enum(['PENDING', 'CONFIRMED', 'EXPIRED']),
  expiresAt: z.string(),
});
const ReservationListSchema = z.object({ items: z.array(ReservationSchema) });
const PaymentSchema = z.object({ paymentId: z.string(), reservationId: z.string(), amount: z.number(), balance: z.number() });
const BalanceSchema = z.object({ balance: z.number() });

export type QueueToken = z.infer<typeof QueueTokenSchema>;
export type ScheduleList = z.infer<typeof ScheduleListSchema>;
export type SeatMap = z.infer<typeof SeatMapSchema>;
export type Reservation = z.infer<typeof ReservationSchema>;
export type Payment = z.infer<typeof PaymentSchema>;

/** A 2xx with its checked body, or the refusal's status and code. `ambiguous`: see Sent. */
export type Reply<T> =
  | { readonly ok: true; readonly status: number; readonly value: T; readonly ambiguous: boolean }
  | { readonly ok: false; readonly status: number; readonly code: string | undefined; readonly ambiguous: boolean };

/** One buyer's session: their access token, their home instance. */
export class BuyerApi {
  readonly home: Home;

  constructor(
    private readonly client: ServiceClient,
    readonly userId: string,
    private readonly accessToken: string,
    homeIndex: number,
  ) {
    this.home = { index: homeIndex % client.instances };
  }

  issueToken(): Promise<Reply<QueueToken>> {
    return this.send('POST /queue/tokens', { method: 'POST', path: '/queue/tokens', headers: this.auth() }, QueueTokenSchema);
  }

  /** Also the buyer's presence in the line. */
  currentToken(): Promise<Reply<QueueToken>> {
    return this.send('GET /queue/tokens/current', { method: 'GET', path: '/queue/tokens/current', headers: this.auth() }, QueueTokenSchema);
  }

  leaveLine(): Promise<Reply<undefined>> {
    return this.send('DELETE /queue/tokens/current', { method: 'DELETE', path: '/queue/tokens/current', headers: this.auth() }, z.undefined());
  }

  schedules(concertId: string): Promise<Reply<ScheduleList>> {
    return this.send('GET /concerts/{id}/schedules', { method: 'GET', path: `/concerts/${encodeURIComponent(concertId)}/schedules` }, ScheduleListSchema);
  }

  seatMap(scheduleId: string): Promise<Reply<SeatMap>> {
    return this.send('GET /schedules/{id}/seats', { method: 'GET', path: `/schedules/${encodeURIComponent(scheduleId)}/seats` }, SeatMapSchema);
  }

  reserve(queueToken: string, scheduleId: string, seatNo: number): Promise<Reply<Reservation>> {
    const headers = { ...this.auth(), 'Queue-Token': queueToken };
    return this.send('POST /reservations', { method: 'POST', path: '/reservations', headers, body: { scheduleId, seatNo } }, ReservationSchema);
  }

  reservation(reservationId: string): Promise<Reply<Reservation>> {
    const path = `/reservations/${encodeURIComponent(reservationId)}`;
    return this.send('GET /reservations/{id}', { method: 'GET', path, headers: this.auth() }, ReservationSchema);
  }

  /** The newest of the buyer's reservations: after a reserve whose answer was lost, what they really hold. */
  myReservations(limit: number): Promise<Reply<z.infer<typeof ReservationListSchema>>> {
    const path = `/users/me/reservations?limit=${limit}`;
    return this.send('GET /users/me/reservations', { method: 'GET', path, headers: this.auth() }, ReservationListSchema);
  }

  charge(amount: number, idempotencyKey: string): Promise<Reply<z.infer<typeof BalanceSchema>>> {
    const headers = { ...this.auth(), 'Idempotency-Key': idempotencyKey };
    const request: Request = { method: 'POST', path: '/users/me/points/charge', headers, body: { amount } };
    return this.send('POST /users/me/points/charge', request, BalanceSchema, { retryLockBusy: true });
  }

  pay(queueToken: string, reservationId: string, idempotencyKey: string): Promise<Reply<Payment>> {
    const headers = { ...this.auth(), 'Queue-Token': queueToken, 'Idempotency-Key': idempotencyKey };
    const path = `/reservations/${encodeURIComponent(reservationId)}/payment`;
    return this.send('POST /reservations/{id}/payment', { method: 'POST', path, headers }, PaymentSchema, { retryLockBusy: true });
  }

  private auth(): Record<string, string> {
    return { Authorization: `Bearer ${this.accessToken}` };
  }

  private async send<T>(route: string, request: Request, schema: z.ZodType<T>, policy?: CallPolicy): Promise<Reply<T>> {
    const { answer, ambiguous } = await this.client.call(this.home, route, request, policy);
    if (answer.status < 200 || answer.status >= 300) return { ok: false, status: answer.status, code: answer.code, ambiguous };
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) throw new GiveUp(`${route}: unexpected ${answer.status} body (${parsed.error.issues[0]?.message ?? 'invalid'})`);
    return { ok: true, status: answer.status, value: parsed.data, ambiguous };
  }
}
