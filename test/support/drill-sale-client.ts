/**
 * A buyer's requests against a running application (its Hono app, in
 * process), and a look at what the database really holds: what the
 * drills need to make a sale and check afterwards that nothing was
 * half-written.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TOKENS } from '../../app/tokens.js';
import type { AppShape } from './app-shapes.js';

export const DRILL_ADMIN_TOKEN = 'drill-admin-token-0123456789';

export interface DrillBuyer {
  readonly userId: string;
  readonly access: string;
  /** An ACTIVE queue token. */
  readonly token: string;
}

export interface Answer<T = unknown> {
  readonly status: number;
  readonly body: T;
  /** How long the request took, in milliseconds. */
  readonly ms: number;
}

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string };
}

/** What the database holds for one reservation and its buyer, read straight from the tables. */
export interface StoredSale {
  readonly reservationStatus: string | undefined;
  readonly payments: number;
  readonly seatStatus: string | undefined;
  readonly balance: number;
  readonly uses: number;
}

export function drillSaleClient(shape: () => AppShape) {
  const request = async <T>(path: string, init: RequestInit = {}): Promise<Answer<T>> => {
    const started = Date.now();
    const response = await shape().application.app.request(path, init);
    const text = await response.text();
    return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as T, ms: Date.now() - started };
  };
  const post = (path: string, body: unknown, headers: Record<string, string>) =>
    request<unknown>(path, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const as = (buyer: { readonly access: string }) => ({ Authorization: `Bearer ${buyer.access}` });

  return {
    request,

    /** A concert with one schedule of `seatCount` seats at `price`, through the admin routes. */
    async aSchedule(seatCount = 5, price = 10_000): Promise<string> {
      const admin = { Authorization: `Bearer ${DRILL_ADMIN_TOKEN}` };
      const concert = await post('/admin/concerts', { title: 'Drill Tour', venue: 'Drill Hall' }, admin);
      if (concert.status !== 201) throw new Error(`concert: ${concert.status} ${JSON.stringify(concert.body)}`);
      const { id } = concert.body as { id: string };
      const schedule = await post(`/admin/concerts/${id}/schedules`, { startsAt: '2026-12-24T19:00:00Z', seatCount, price }, admin);
      if (schedule.status !== 201) throw new Error(`schedule: ${schedule.status} ${JSON.stringify(schedule.body)}`);
      return (schedule.body as { id: string }).id;
    },

    /** A new user with `points` charged and an ACTIVE queue token (admitted by one round of the use case). */
    async aBuyer(points: number): Promise<DrillBuyer> {
      const userId = `drill-${randomBytes(5).toString('hex')}`;
      const access = await shape().tokenFor(userId);
      const charged = await post('/users/me/points/charge', { amount: points }, as({ access }));
      if (charged.status !== 200) throw new Error(`charge: ${charged.status} ${JSON.stringify(charged.body)}`);
      const issued = await request<{ token: string }>('/queue/tokens', { method: 'POST', headers: as({ access }) });
      if (issued.status !== 201) throw new Error(`queue token: ${issued.status}`);
      await shape().application.container.get(TOKENS.AdmitWaiters).execute();
      return { userId, access, token: issued.body.token };
    },

    async reserve(buyer: DrillBuyer, scheduleId: string, seatNo: number): Promise<{ reservationId: string; expiresAt: string }> {
      const answer = await post('/reservations', { scheduleId, seatNo }, { ...as(buyer), 'Queue-Token': buyer.token });
      if (answer.status !== 201) throw new Error(`reserve: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body as { reservationId: string; expiresAt: string };
    },

    pay(buyer: DrillBuyer, reservationId: string, idempotencyKey?: string) {
      const key: Record<string, string> = idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey };
      return request<unknown>(`/reservations/${reservationId}/payment`, { method: 'POST', headers: { ...as(buyer), 'Queue-Token': buyer.token, ...key } });
    },

    charge(buyer: { readonly access: string }, amount: number, idempotencyKey?: string) {
      const key: Record<string, string> = idempotencyKey === undefined ? {} : { 'Idempotency-Key': idempotencyKey };
      return post('/users/me/points/charge', { amount }, { ...as(buyer), ...key });
    },

    /** The application's own database URL (its config), for sessions of a drill's own on it. */
    databaseUrl(): string {
      const url = shape().application.container.get(TOKENS.Config).databaseUrl;
      if (url === undefined) throw new Error('a drill needs the distributed shape (Postgres)');
      return url;
    },

    /** The stored payment's created_at, if there is one. */
    async paymentCreatedAt(reservationId: string): Promise<Date | undefined> {
      const client = new pg.Client({ connectionString: this.databaseUrl() });
      await client.connect();
      try {
        const { rows } = await client.query<{ created_at: Date }>('select created_at from payments where reservation_id = $1', [reservationId]);
        return rows[0]?.created_at;
      } finally {
        await client.end();
      }
    },

    /** Straight from the tables, on a session of its own: no cache, no use case in between. */
    async stored(buyer: { readonly userId: string }, reservationId: string): Promise<StoredSale> {
      const client = new pg.Client({ connectionString: this.databaseUrl() });
      await client.connect();
      try {
        const reservation = await client.query<{ status: string; schedule_id: string; seat_no: number }>(
          'select status, schedule_id, seat_no from reservations where id = $1',
          [reservationId],
        );
        const row = reservation.rows[0];
        const seat =
          row === undefined
            ? undefined
            : (await client.query<{ status: string }>('select status from seats where schedule_id = $1 and seat_no = $2', [row.schedule_id, row.seat_no])).rows[0];
        const count = async (text: string, values: unknown[]) => (await client.query<{ n: number }>(text, values)).rows[0]!.n;
        return {
          reservationStatus: row?.status,
          payments: await count('select count(*)::int as n from payments where reservation_id = $1', [reservationId]),
          seatStatus: seat?.status,
          balance: await count('select coalesce(sum(balance), 0)::int as n from user_points where user_id = $1', [buyer.userId]),
          uses: await count(`select count(*)::int as n from point_history where user_id = $1 and kind = 'USE'`, [buyer.userId]),
        };
      } finally {
        await client.end();
      }
    },
  };
}
