/**
 * Reserving and paying over HTTP, the real service in a child process:
 * - reserve throughput on distinct seats, every request its own user, with
 *   that user's access token and ACTIVE queue token (POST /reservations);
 * - pay throughput, paying those reservations, again one user per request
 *   (a payment that leaves its user no PENDING hold spends the queue token:
 *   POST /reservations/{id}/payment);
 * - a hot seat: `hotAttempts` requests on one seat fired at once over
 *   connections opened beforehand, each answer timed; exactly one may win;
 * - the lock's hold and wait by key family (seat, point+reservation+seat, …)
 *   over each window, from the service's /metrics histograms.
 * Everything is set up through the API: the catalog with the admin routes,
 * queue tokens (QUEUE_ACTIVE_MAX large and QUEUE_ADMIT_INTERVAL_MS short,
 * so that every token turns ACTIVE within a round or two), wallets with
 * POST /users/{id}/points/charge. Every user's access token is signed
 * before any of it (AUTH_JWT_SECRET of the child), never inside a window.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { VERIFIED_TOKEN_CACHE_MAX_ENTRIES } from '../adapters/auth/jose-access-token-verifier.js';
import { drive } from './drive.js';
import type { DriveRequest, DriveResult } from './drive.js';
import type { Buckets } from './metrics.js';
import { diff, parseHistogram, parseValue, quantile, settled, total } from './metrics.js';
import type { Latency } from './support.js';
import { bearer, busyShare, machineCpu, signAccessTokens, startChild, summarise } from './support.js';

const SERVE = fileURLToPath(new URL('./serve.ts', import.meta.url));

export const RESERVATION_TARGETS = {
  /** Reserve throughput over the bare write transaction's rate, same run. */
  reserveOverTx: 0.5,
  /** Lock hold p50 of every use case, ms. */
  holdP50Ms: 3,
  /** Every hot-seat attempt answered within this, ms from the moment they are fired. */
  hotAllAnsweredMs: 1_000,
} as const;

/** The price of every bench seat, and what each paying user is charged beforehand. */
const PRICE = 1_000;
const SEATS_PER_SCHEDULE = 1_000;
/** Reservations made ready for paying, over what the reserve rate would make in the pay windows' time: paying has run at up to 1.4× reserving. */
export const PAY_HEADROOM = 2;

export interface ReservationOptions {
  /** Environment of the service child: DATABASE_URL, REDIS_URL, REDIS_PREFIX. */
  readonly env: Record<string, string | undefined>;
  /** The child's AUTH_JWT_SECRET: the bench signs every user's access token with it. */
  readonly authSecret: string;
  readonly connections: number;
  readonly durationS: number;
  readonly warmupS: number;
  /** Distinct seats, each with its own user and ACTIVE token, made ready for the reserve load; it stops early if they run out. */
  readonly reserveCapacity: number;
  readonly hotAttempts: number;
  readonly hotRounds: number;
  /** A second, short window of each load with fewer connections than the service's pool has: the lock hold without the wait for a pooled connection. */
  readonly lightConnections: number;
  readonly lightS: number;
}

export interface LockFamilyStats {
  readonly family: string;
  /** From the histogram's buckets (0.5, 1, 2.5, 5, 10, 25 ms …), interpolated: estimates, ms. */
  readonly holdP50: number;
  readonly holdP99: number;
  /** Every hold was at most this long: the upper bound of the highest bucket with a hold in it, ms (Infinity past the last bound). */
  readonly holdMaxLe: number;
  readonly holds: number;
  readonly waitP50: number;
  readonly waitP99: number;
  readonly acquired: number;
  /** Refused: fail-fast on a held key, or after the wait policy's time (LOCK_BUSY). */
  readonly busy: number;
}

export interface PhaseRun {
  readonly load: DriveResult;
  /** Error codes of the non-2xx answers (from their bodies). */
  readonly codes: Readonly<Record<string, number>>;
  /** Lock figures of every key family used in the window. */
  readonly locks: readonly LockFamilyStats[];
  readonly serviceCores: number;
  readonly serviceCpuMsPerRequest: number;
  readonly machineBusy: number;
  readonly logLines: number;
}

export interface HotRound {
  readonly attempts: number;
  /** From the moment the first request is written to the last answer, ms. */
  readonly allAnsweredMs: number;
  /** Each attempt's own time, fired → answered, ms. */
  readonly latency: Latency;
  /** Time to write all the requests (the client's share of the spread), ms. */
  readonly fireMs: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly codes: Readonly<Record<string, number>>;
  /** 201s: must be exactly 1. */
  readonly winners: number;
  /** Attempts that got no HTTP answer at all (connection error). */
  readonly failed: number;
  /** The seat as GET /schedules/{id}/seats shows it afterwards. */
  readonly seatAfter: string;
  readonly locks: readonly LockFamilyStats[];
}

export interface ReservationFigures {
  readonly setup: {
    readonly schedules: number;
    readonly users: number;
    /** Seconds each setup step took (catalog, signing the access tokens, queue tokens, admission, extra reservations, wallets). */
    readonly catalogS: number;
    readonly signS: number;
    readonly tokensS: number;
    readonly activeS: number;
    readonly topUpS: number;
    readonly walletsS: number;
    /** Reservations made untimed after the reserve windows, so that the pay windows do not run out. */
    readonly topUp: number;
    readonly wallets: number;
  };
  readonly reserve: PhaseRun;
  readonly pay: PhaseRun;
  /** The same loads with `lightConnections` connections. */
  readonly reserveLight: PhaseRun;
  readonly payLight: PhaseRun;
  readonly lightConnections: number;
  readonly hot: readonly HotRound[];
  /**
   * Whether the reserve requests found their access token in the service's
   * verified-token cache. 'miss': more users than the cache holds were
   * verified, each phase walking them in the same order, so by a user's
   * reserve its token had been evicted (the cache evicts the oldest entry)
   * and every reserve paid a full JWT verification.
   */
  readonly reserveTokenCache: 'miss' | 'hit';
}

const log = (message: string) => process.stderr.write(`[bench]   ${message}\n`);

export async function benchReservations(options: ReservationOptions): Promise<ReservationFigures> {
  const adminToken = `bench-admin-${randomBytes(12).toString('hex')}`;
  const child = await startChild(SERVE, {
    ...options.env,
    PORT: '0',
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    ADMIN_TOKEN: adminToken,
    AUTH_JWT_SECRET: options.authSecret,
    QUEUE_ACTIVE_MAX: '100000',
    QUEUE_ADMIT_INTERVAL_MS: '50',
  });
  const url = child.url;
  const { connections } = options;
  try {
    // --- the catalog: schedules of 1,000 seats (the most one may have), and one for the hot seat
    let t = performance.now();
    const admin = { Authorization: `Bearer ${adminToken}` };
    const concert = await call<{ id: string }>(url, 'POST', '/admin/concerts', { title: 'Bench Tour', venue: 'Bench Hall' }, admin, 201);
    const scheduleCount = Math.ceil(options.reserveCapacity / SEATS_PER_SCHEDULE);
    const newSchedule = async (seatCount: number) =>
      (await call<{ id: string }>(url, 'POST', `/admin/concerts/${concert.id}/schedules`, { startsAt: '2030-01-01T19:00:00Z', seatCount, price: PRICE }, admin, 201)).id;
    const schedules: string[] = [];
    for (let k = 0; k < scheduleCount; k++) schedules.push(await newSchedule(SEATS_PER_SCHEDULE));
    const hotSchedule = await newSchedule(Math.max(10, options.hotRounds));
    const catalogS = seconds(t);
    const seatOf = (u: number) => ({ scheduleId: schedules[Math.floor(u / SEATS_PER_SCHEDULE)]!, seatNo: (u % SEATS_PER_SCHEDULE) + 1 });

    // --- users, their access tokens and queue tokens: one per reservation to come, and the hot seat's crowd
    t = performance.now();
    const tag = randomBytes(3).toString('hex');
    const users = [
      ...Array.from({ length: options.reserveCapacity }, (_, u) => `rv-${tag}-${u}`),
      ...Array.from({ length: options.hotAttempts }, (_, k) => `hot-${tag}-${k}`),
    ];
    const access = await signAccessTokens(options.authSecret, users);
    const signS = seconds(t);
    t = performance.now();
    const queueTokens = await issueTokens(url, connections, access);
    const tokensS = seconds(t);
    t = performance.now();
    await untilActive(url, connections, access, queueTokens);
    const activeS = seconds(t);
    log(
      `setup: ${scheduleCount + 1} schedules in ${catalogS.toFixed(1)} s, ${users.length} access tokens signed in ${signS.toFixed(1)} s, ` +
        `queue tokens in ${tokensS.toFixed(1)} s, all ACTIVE ${activeS.toFixed(1)} s later`,
    );
    // Reserving and paying: who (the access token) and their place in the sale (their own ACTIVE queue token).
    const sale = (u: number) => ({ ...bearer(access[u]!), 'Queue-Token': queueTokens[u]! });

    // --- reserve: user u takes seat u, in order; a warm-up, then the measured window
    const reservationOf: (string | undefined)[] = [];
    let offset = 0;
    const reserveRequest = (u: number): DriveRequest | undefined =>
      u >= options.reserveCapacity ? undefined : { method: 'POST', path: '/reservations', headers: sale(u), body: JSON.stringify(seatOf(u)) };
    const recordReservation = (u: number, status: number, body: string) => {
      if (status === 201) reservationOf[u] = (JSON.parse(body) as { reservationId: string }).reservationId;
    };
    const reserveLoad = (durationS: number, conns = connections) => {
      const base = offset;
      return phase(url, child.logLines, {
        url,
        connections: conns,
        durationS,
        request: (i) => reserveRequest(base + i),
        onResponse: (i, status, body) => recordReservation(base + i, status, body),
      }).then((run) => {
        offset += run.load.built;
        return run;
      });
    };
    await reserveLoad(options.warmupS);
    const reserve = await reserveLoad(options.durationS);
    log(`reserve: ${reserve.load.okRps.toFixed(0)} req/s${reserve.load.exhausted ? ' (ran out of seats: window cut short)' : ''}`);
    const reserveLight = await reserveLoad(options.lightS, options.lightConnections);
    log(`reserve, ${options.lightConnections} connections: ${reserveLight.load.okRps.toFixed(0)} req/s`);

    // --- enough reservations for every pay window. Paying may run faster than reserving (it does since reserving
    // also counts the buyer's seats), so the reserve windows alone can leave too few: more users reserve, untimed,
    // up to PAY_HEADROOM × the reserve rate over the pay windows (at most every user). Too few still: the last pay
    // window is cut short, and says so.
    t = performance.now();
    const payS = options.warmupS + options.durationS + options.lightS;
    const made = () => reservationOf.filter((id) => id !== undefined).length;
    const topUp = Math.max(0, Math.min(options.reserveCapacity - offset, Math.ceil(reserve.load.okRps * payS * PAY_HEADROOM) - made()));
    if (topUp > 0) {
      const base = offset;
      await drive({ url, connections, amount: topUp, request: (i) => reserveRequest(base + i), onResponse: (i, status, body) => recordReservation(base + i, status, body) });
      offset += topUp;
    }
    const topUpS = seconds(t);
    if (topUp > 0) log(`${topUp} more reservations for the pay windows, untimed, in ${topUpS.toFixed(1)} s`);

    // --- wallets for the payers: one charge each, for every reservation made
    const reserved = reservationOf.flatMap((id, u) => (id === undefined ? [] : [u]));
    const walletCount = reserved.length;
    t = performance.now();
    const wallets = await drive({
      url,
      connections,
      amount: walletCount,
      request: (i) => ({ method: 'POST', path: `/users/${users[reserved[i]!]}/points/charge`, headers: bearer(access[reserved[i]!]!), body: JSON.stringify({ amount: PRICE }) }),
    });
    if ((wallets.statusCounts['200'] ?? 0) !== walletCount) throw new Error(`charging ${walletCount} wallets answered ${JSON.stringify(wallets.statusCounts)}`);
    const walletsS = seconds(t);

    // --- pay: payer p pays the reservation of reserved[p] with that user's token
    let paid = 0;
    const payLoad = (durationS: number, conns = connections) => {
      const base = paid;
      return phase(url, child.logLines, {
        url,
        connections: conns,
        durationS,
        request: (i): DriveRequest | undefined => {
          const p = base + i;
          if (p >= walletCount) return undefined;
          const u = reserved[p]!;
          return { method: 'POST', path: `/reservations/${reservationOf[u]}/payment`, headers: sale(u) };
        },
      }).then((run) => {
        paid += run.load.built;
        return run;
      });
    };
    await payLoad(options.warmupS);
    const pay = await payLoad(options.durationS);
    log(`pay: ${pay.load.okRps.toFixed(0)} req/s${pay.load.exhausted ? ' (ran out of reservations: window cut short)' : ''}`);
    const payLight = await payLoad(options.lightS, options.lightConnections);
    log(`pay, ${options.lightConnections} connections: ${payLight.load.okRps.toFixed(0)} req/s${payLight.load.exhausted ? ' (ran out of reservations: window cut short)' : ''}`);

    // --- one hot seat per round, the crowd's tokens
    const crowd = access.slice(options.reserveCapacity).map((token, k) => ({ access: token, queue: queueTokens[options.reserveCapacity + k]! }));
    const hot: HotRound[] = [];
    for (let round = 0; round < options.hotRounds; round++) {
      hot.push(await hotSeat(url, crowd, hotSchedule, round + 1));
      const h = hot.at(-1)!;
      log(`hot seat round ${round + 1}: ${h.winners} × 201, all ${h.attempts} answered in ${h.allAnsweredMs.toFixed(0)} ms, ${JSON.stringify(h.codes)}`);
    }

    return {
      setup: { schedules: scheduleCount + 1, users: users.length, catalogS, signS, tokensS, activeS, topUpS, walletsS, topUp, wallets: walletCount },
      reserve,
      pay,
      reserveLight,
      payLight,
      lightConnections: options.lightConnections,
      hot,
      reserveTokenCache: users.length > VERIFIED_TOKEN_CACHE_MAX_ENTRIES ? 'miss' : 'hit',
    };
  } finally {
    await child.stop();
  }
}

function seconds(since: number): number {
  return (performance.now() - since) / 1000;
}

/** One request with fetch (setup only), checking its status. */
async function call<T>(url: string, method: string, path: string, body: unknown, headers: Record<string, string>, expect: number): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (response.status !== expect) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/**
 * POST /queue/tokens for every user (the access token says who; no body),
 * `connections` at a time; answers the queue tokens in the users' order.
 */
async function issueTokens(url: string, connections: number, access: readonly string[]): Promise<string[]> {
  const tokens: string[] = [];
  const result = await drive({
    url,
    connections,
    amount: access.length,
    request: (i) => ({ method: 'POST', path: '/queue/tokens', headers: bearer(access[i]!) }),
    onResponse: (i, status, body) => {
      if (status === 201) tokens[i] = (JSON.parse(body) as { token: string }).token;
    },
  });
  const missing = access.length - tokens.filter((token) => token !== undefined).length;
  if (missing > 0) throw new Error(`${missing} of ${access.length} queue tokens not issued: ${JSON.stringify(result.statusCounts)}`);
  return tokens;
}

/**
 * Polls GET /queue/tokens/current (the caller's token, by access token) for
 * every user not yet seen ACTIVE with the token issued to them, until all
 * are (at most 30 s). Asking is also presence: no waiter is dropped meanwhile.
 */
async function untilActive(url: string, connections: number, access: readonly string[], queueTokens: readonly string[]): Promise<void> {
  let pending = access.map((_, i) => i);
  const giveUpAt = Date.now() + 30_000;
  while (pending.length > 0) {
    const stillWaiting: number[] = [];
    const batch = pending;
    await drive({
      url,
      connections: Math.min(connections, batch.length),
      amount: batch.length,
      request: (i) => ({ method: 'GET', path: '/queue/tokens/current', headers: bearer(access[batch[i]!]!) }),
      onResponse: (i, status, body) => {
        const current = status === 200 ? (JSON.parse(body) as { token: string; status: string }) : undefined;
        if (current?.status !== 'ACTIVE' || current.token !== queueTokens[batch[i]!]) stillWaiting.push(batch[i]!);
      },
    });
    pending = stillWaiting;
    if (pending.length === 0) return;
    if (Date.now() > giveUpAt) throw new Error(`${pending.length} queue tokens still not ACTIVE after 30 s`);
    await sleep(100);
  }
}

/** A measured load: the service's CPU and lock histograms scraped around it, once the requests left in flight have finished. */
async function phase(url: string, logLines: () => number, load: Parameters<typeof drive>[0]): Promise<PhaseRun> {
  const codes: Record<string, number> = {};
  const before = await settled(url);
  const logsBefore = logLines();
  const machineBefore = machineCpu();
  const started = performance.now();
  const result = await drive({
    ...load,
    onResponse: (i, status, body) => {
      if (status >= 300) countCode(codes, body);
      load.onResponse?.(i, status, body);
    },
  });
  const elapsedS = seconds(started);
  const machineBusy = busyShare(machineBefore, machineCpu());
  const after = await settled(url);
  const cpuS = parseValue(after, 'process_cpu_seconds_total') - parseValue(before, 'process_cpu_seconds_total');
  return {
    load: result,
    codes,
    locks: lockFamilies(before, after),
    serviceCores: cpuS / elapsedS,
    serviceCpuMsPerRequest: (cpuS * 1000) / Math.max(1, result.total),
    machineBusy,
    logLines: logLines() - logsBefore,
  };
}

function countCode(codes: Record<string, number>, body: string): void {
  let code = 'unknown';
  try {
    code = (JSON.parse(body) as { error?: { code?: string } }).error?.code ?? 'unknown';
  } catch {
    // not JSON: counted as unknown
  }
  codes[code] = (codes[code] ?? 0) + 1;
}


/** Lock figures of every key family seen between two scrapes. */
function lockFamilies(before: string, after: string): LockFamilyStats[] {
  const families = new Set([...after.matchAll(/^lock_(?:hold|wait)_seconds_bucket\{[^}]*family="([^"]*)"/gm)].map((m) => m[1]!));
  const window = (name: string, match: Record<string, string>): Buckets => diff(parseHistogram(after, name, match), parseHistogram(before, name, match));
  const ms = (s: number) => s * 1000;
  const stats: LockFamilyStats[] = [];
  for (const family of [...families].sort()) {
    const hold = window('lock_hold_seconds', { family });
    const acquired = window('lock_wait_seconds', { family, outcome: 'acquired' });
    const busy = window('lock_wait_seconds', { family, outcome: 'busy' });
    if (total(hold) + total(acquired) + total(busy) === 0) continue;
    stats.push({
      family,
      holdP50: ms(quantile(hold, 0.5)),
      holdP99: ms(quantile(hold, 0.99)),
      holdMaxLe: ms(hold.le[hold.counts.findIndex((count) => count === total(hold))] ?? Number.POSITIVE_INFINITY),
      holds: total(hold),
      waitP50: ms(quantile(acquired, 0.5)),
      waitP99: ms(quantile(acquired, 0.99)),
      acquired: total(acquired),
      busy: total(busy),
    });
  }
  return stats;
}

/**
 * `crowd.length` requests for one seat at once. The connections are opened
 * (and every token checked ACTIVE) first, one per request, so that the
 * round measures the service's answer to the crowd, not a thousand TCP
 * handshakes against the listen backlog. Then every request is written in
 * one go and each answer timed from that moment.
 */
async function hotSeat(url: string, crowd: readonly { access: string; queue: string }[], scheduleId: string, seatNo: number): Promise<HotRound> {
  const { hostname, port } = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: crowd.length, maxFreeSockets: crowd.length, keepAliveMsecs: 10_000 });
  const request = (method: string, path: string, tokenHeaders: Record<string, string>, body?: string) =>
    new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
      const headers: Record<string, string | number> = { ...tokenHeaders };
      if (body !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      const req = http.request({ agent, hostname, port, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), at: performance.now() }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const before = await settled(url);
    // Every connection opened and idle in the agent, every token ACTIVE.
    const checks = await Promise.all(crowd.map((buyer) => request('GET', '/queue/tokens/current', bearer(buyer.access))));
    const notActive = checks.filter((c, k) => {
      const current = c.status === 200 ? (JSON.parse(c.body) as { token: string; status: string }) : undefined;
      return current?.status !== 'ACTIVE' || current.token !== crowd[k]!.queue;
    }).length;
    if (notActive > 0) throw new Error(`hot seat: ${notActive} of ${crowd.length} tokens not ACTIVE`);
    const body = JSON.stringify({ scheduleId, seatNo });
    const firedAt = performance.now();
    const pending = crowd.map((buyer) => request('POST', '/reservations', { ...bearer(buyer.access), 'Queue-Token': buyer.queue }, body));
    const fireMs = performance.now() - firedAt;
    const answers = await Promise.allSettled(pending);
    const after = await settled(url);
    const statuses: Record<string, number> = {};
    const codes: Record<string, number> = {};
    const times: number[] = [];
    let failed = 0;
    for (const answer of answers) {
      if (answer.status === 'rejected') {
        failed++;
        continue;
      }
      statuses[answer.value.status] = (statuses[answer.value.status] ?? 0) + 1;
      if (answer.value.status >= 300) countCode(codes, answer.value.body);
      times.push(answer.value.at - firedAt);
    }
    const seats = (await fetch(`${url}/schedules/${scheduleId}/seats`).then((r) => r.json())) as { seats: { seatNo: number; status: string }[] };
    return {
      attempts: crowd.length,
      allAnsweredMs: failed > 0 ? Number.POSITIVE_INFINITY : Math.max(...times),
      latency: summarise(times),
      fireMs,
      statuses,
      codes,
      winners: statuses['201'] ?? 0,
      failed,
      seatAfter: seats.seats.find((s) => s.seatNo === seatNo)?.status ?? 'missing',
      locks: lockFamilies(before, after),
    };
  } finally {
    agent.destroy();
  }
}
