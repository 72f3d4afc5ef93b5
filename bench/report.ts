import type { HonoCeilings, TxCeiling } from './ceilings.js';
import type { ChargeFigures, ChargeRun } from './charge.js';
import type { LockFigures } from './lock.js';
import type { Bar } from './svg.js';
import { barChart, formatNumber } from './svg.js';

export interface Results {
  readonly date: Date;
  readonly machine: { os: string; cpus: string; memory: string; node: string; redis: string; postgres: string };
  /** Share of the machine's CPU in use during one second before the bench started: other work skews everything. */
  readonly busyBeforeStart: number;
  readonly settings: { connections: number; poolSize: number; lockCalls: number; txSeconds: number; loadSeconds: number; warmupSeconds: number };
  readonly lock: LockFigures;
  readonly tx: TxCeiling;
  readonly hono: HonoCeilings;
  /** The service as deployed: Redis lock, Postgres. */
  readonly charge: ChargeFigures;
  /** Same Postgres, REDIS_URL unset (in-process lock): what the Redis lock costs under load. */
  readonly localLock?: ChargeFigures;
  /** No DATABASE_URL, no REDIS_URL: PGlite and the in-process lock. */
  readonly embedded?: ChargeFigures;
  readonly elapsedS: number;
}

/** From the issue this service answers; measured elsewhere, on other hardware: a reference, never a ratio with a target. */
export const SPRING = { rps: 8.7, lockHoldMs: 115 } as const;
/** Above this share of CPU in use before the start, the report warns that the machine was not idle. */
export const NOT_IDLE = 0.15;
export const TARGETS = { lockOverPing: 4, chargeOverTx: 0.5 } as const;

type Row = [figure: string, value: string, ceiling: string, ratio: string, target: string, met: string];

const ms = (v: number) => `${formatNumber(v)} ms`;
const rps = (v: number) => `${formatNumber(v)} req/s`;
const pct = (v: number) => `${(v * 100).toFixed(0)} %`;
const x = (v: number) => (Number.isFinite(v) ? `${v >= 10 ? v.toFixed(0) : v.toFixed(2)}×` : 'n/a');
const met = (ok: boolean) => (ok ? '✅ yes' : '❌ no');
/** A row with no target. */
const info = (figure: string, value: string, ceiling = '—', ratio = '—'): Row => [figure, value, ceiling, ratio, '—', '—'];

function table(rows: readonly Row[]): string {
  const head = '| figure | value | ceiling | ratio | target | met? |\n|---|---:|---:|---:|---:|:---:|';
  return [head, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}

function statuses(run: ChargeRun): string {
  const codes = Object.entries(run.load.statusCounts).filter(([code]) => !code.startsWith('2'));
  const listed = codes.length === 0 ? 'none' : codes.map(([code, n]) => `${n} × ${code}`).join(', ');
  return `${run.load.non2xx} of ${run.load.total} (${listed}${run.load.errors > 0 ? `; ${run.load.errors} connection errors` : ''})`;
}

/** The rows of one charge run, each figure beside its ceiling; the write-tx target only where asked for. */
function chargeRows(name: string, run: ChargeRun, r: Results, txTarget: boolean): Row[] {
  const l = run.load;
  const overTx = l.okRps / r.tx.txPerS;
  const { get, post } = r.hono;
  return [
    [`${name}: 2xx throughput`, rps(l.okRps), `${rps(r.tx.txPerS)} (bare write tx)`, x(overTx), txTarget ? `≥ ${TARGETS.chargeOverTx}×` : '—', txTarget ? met(overTx >= TARGETS.chargeOverTx) : '—'],
    info(`${name}: 2xx throughput`, rps(l.okRps), `${rps(get.okRps)} (bare Hono GET)`, x(l.okRps / get.okRps)),
    info(`${name}: 2xx throughput`, rps(l.okRps), `${rps(post.okRps)} (bare Hono JSON POST)`, x(l.okRps / post.okRps)),
    info(`${name}: latency p50`, ms(l.p50), `${ms(post.p50)} (bare Hono JSON POST)`, x(l.p50 / post.p50)),
    info(`${name}: latency p99`, ms(l.p99), `${ms(post.p99)} (bare Hono JSON POST)`, x(l.p99 / post.p99)),
    info(`${name}: non-2xx`, statuses(run)),
  ];
}

/** A hot wallet runs one charge at a time: its natural ceilings are the distinct-users run and 1 ÷ hold time. */
function hotRows(hot: ChargeRun, r: Results): Row[] {
  const d = r.charge.distinct;
  const serial = 1000 / hot.lock.holdP50;
  return [
    info('one hot user: 2xx throughput', rps(hot.load.okRps), `${rps(d.load.okRps)} (distinct users)`, x(hot.load.okRps / d.load.okRps)),
    info('one hot user: 2xx throughput', rps(hot.load.okRps), `${rps(serial)} (1000 ÷ hold p50: back-to-back holds)`, x(hot.load.okRps / serial)),
    info('one hot user: latency p50', ms(hot.load.p50), `${ms(d.load.p50)} (distinct users)`, x(hot.load.p50 / d.load.p50)),
    info('one hot user: latency p99', ms(hot.load.p99), `${ms(d.load.p99)} (distinct users)`, x(hot.load.p99 / d.load.p99)),
    info('one hot user: non-2xx', statuses(hot)),
    ...lockRows('one hot user', hot, r),
  ];
}

function lockRows(name: string, run: ChargeRun, r: Results): Row[] {
  const rows: Row[] = [
    info(`${name}: lock hold p50 (est. from buckets)`, ms(run.lock.holdP50), `${ms(r.tx.latency.p50)} (bare tx p50)`, x(run.lock.holdP50 / r.tx.latency.p50)),
    info(`${name}: lock hold p99 (est. from buckets)`, ms(run.lock.holdP99), `${ms(r.tx.latency.p99)} (bare tx p99)`, x(run.lock.holdP99 / r.tx.latency.p99)),
    info(`${name}: lock wait p50 / p99 (est.)`, `${ms(run.lock.waitP50)} / ${ms(run.lock.waitP99)}`),
  ];
  if (run.lock.busy > 0) rows.push(info(`${name}: refused after the 2 s wait (LOCK_BUSY)`, `${run.lock.busy} of ${run.lock.busy + run.lock.acquired}`));
  return rows;
}

function cpuRows(r: Results): Row[] {
  const d = r.charge.distinct;
  const cores = (run: ChargeRun) => `${run.serviceCores.toFixed(2)} cores`;
  const rows: Row[] = [
    info('service CPU, distinct users', cores(d), '1 core (one event loop)', x(d.serviceCores)),
    info('service CPU per charge', ms(d.serviceCpuMsPerRequest), `${ms(r.tx.clientCpuMsPerTx)} (pg client CPU per bare tx)`, x(d.serviceCpuMsPerRequest / r.tx.clientCpuMsPerTx)),
  ];
  if (r.localLock) {
    const local = r.localLock.distinct;
    rows.push(
      info('distinct users, Redis lock', rps(d.load.okRps), `${rps(local.load.okRps)} (in-process lock, same Postgres)`, x(d.load.okRps / local.load.okRps)),
      info('service CPU per charge, in-process lock', ms(local.serviceCpuMsPerRequest), `${ms(d.serviceCpuMsPerRequest)} (Redis lock)`, x(local.serviceCpuMsPerRequest / d.serviceCpuMsPerRequest)),
    );
  }
  rows.push(
    info('bare Hono JSON POST', rps(r.hono.post.okRps), `${rps(r.hono.get.okRps)} (bare Hono GET)`, x(r.hono.post.okRps / r.hono.get.okRps)),
    info('machine busy: charge distinct / bare tx / Hono GET / Hono POST', [d.machineBusy, r.tx.machineBusy, r.hono.get.machineBusy, r.hono.post.machineBusy].map(pct).join(' / '), '100 %'),
    info('service log lines during the distinct-users load (LOG_LEVEL=warn)', String(d.logLines)),
  );
  return rows;
}

export function renderCharts(r: Results): Record<string, string> {
  const hot = r.charge.hot;
  const measured = (label: string, value: number): Bar => ({ label, value, kind: 'measured' });
  const throughput: Bar[] = [
    { label: 'bare Hono GET /ping', value: r.hono.get.okRps, kind: 'ceiling' },
    { label: 'bare Hono JSON POST', value: r.hono.post.okRps, kind: 'ceiling' },
    { label: 'bare Postgres charge tx', value: r.tx.txPerS, kind: 'ceiling', unit: 'tx/s' },
    measured('charge, distinct users', r.charge.distinct.load.okRps),
    ...(r.localLock ? [measured('charge, in-process lock', r.localLock.distinct.load.okRps)] : []),
    ...(hot ? [measured('charge, one hot user', hot.load.okRps)] : []),
    ...(r.embedded ? [measured('charge, embedded mode', r.embedded.distinct.load.okRps)] : []),
    { label: 'Spring version (issue)', value: SPRING.rps, kind: 'reference' },
  ];
  const lock: Bar[] = [
    { label: 'Redis PING p50', value: r.lock.ping.p50, kind: 'ceiling' },
    { label: 'Redis PING p99', value: r.lock.ping.p99, kind: 'ceiling' },
    measured('withLock 1 key p50', r.lock.oneKey.p50),
    measured('withLock 1 key p99', r.lock.oneKey.p99),
    measured('withLock 3 keys p50', r.lock.threeKeys.p50),
    measured('withLock 3 keys p99', r.lock.threeKeys.p99),
    { label: 'bare Postgres tx p50', value: r.tx.latency.p50, kind: 'ceiling' },
    measured('lock hold under load p50 (est.)', r.charge.distinct.lock.holdP50),
    ...(hot ? [measured('lock hold, hot user p50 (est.)', hot.lock.holdP50)] : []),
    { label: 'Spring lock hold (issue)', value: SPRING.lockHoldMs, kind: 'reference' },
  ];
  const latency: Bar[] = [
    { label: 'bare Hono JSON POST p50', value: r.hono.post.p50, kind: 'ceiling' },
    { label: 'bare Hono JSON POST p99', value: r.hono.post.p99, kind: 'ceiling' },
    { label: 'bare Postgres tx p50', value: r.tx.latency.p50, kind: 'ceiling' },
    { label: 'bare Postgres tx p99', value: r.tx.latency.p99, kind: 'ceiling' },
    measured('charge distinct p50', r.charge.distinct.load.p50),
    measured('charge distinct p99', r.charge.distinct.load.p99),
    ...(hot ? [measured('charge hot user p50', hot.load.p50), measured('charge hot user p99', hot.load.p99)] : []),
  ];
  return {
    'throughput.svg': barChart({ title: 'Throughput vs. ceilings (same run)', unit: 'req/s', bars: throughput, log: true }),
    'lock-latency.svg': barChart({ title: 'Lock latency vs. one Redis round trip', unit: 'ms', bars: lock, log: true }),
    'http-latency.svg': barChart({ title: `Latency under load, ${r.settings.connections} concurrent callers`, unit: 'ms', bars: latency, log: true }),
  };
}

export function renderReport(r: Results): string {
  const s = r.settings;
  const { ping, oneKey, threeKeys } = r.lock;
  const lockRatio = oneKey.p50 / ping.p50;
  const d = r.charge.distinct;
  const hot = r.charge.hot;
  const sections = [
    `# Benchmark: concert-ticketing`,
    `Run ${r.date.toISOString()} by \`npm run bench\` (${r.elapsedS.toFixed(0)} s in all).`,
    `**Machine:** ${r.machine.os}; ${r.machine.cpus}; ${r.machine.memory}; Node ${r.machine.node}; Redis ${r.machine.redis}; Postgres ${r.machine.postgres}. The load generator, the service, Redis and Postgres all share this machine; it was ${pct(r.busyBeforeStart)} busy in the second before the run started.`,
    r.busyBeforeStart > NOT_IDLE ? `> **Warning:** the machine was not idle when the run started (${pct(r.busyBeforeStart)} CPU in use): other work competes with every measurement below, and not evenly, so even the ratios are skewed. Re-run on a quiet machine.` : '',
    `## Method`,
    [
      `- Every figure stands beside a ceiling measured **in the same run**, as a ratio: absolute numbers move with the machine, the ratios much less.`,
      `- Ceilings: sequential Redis PINGs (ioredis, the app's client settings); a bare Postgres transaction shaped like a charge (\`start transaction isolation level read committed\`; \`INSERT INTO user_points … ON CONFLICT DO UPDATE … WHERE\` guarded, \`RETURNING\`; \`INSERT INTO point_history\`; \`COMMIT\`) with raw pg, pool ${s.poolSize} (the app's), ${s.connections} concurrent callers on distinct users, ${s.txSeconds} s; a bare Hono app on @hono/node-server in a child process, \`GET /ping\` and a JSON \`POST\` on a rotating path, autocannon, ${s.connections} connections, ${s.loadSeconds} s each.`,
      `- Lock: \`RedisLock.withLock\` (the real adapter) with empty work, sequential, on keys no one holds: ${s.lockCalls} calls with 1 key, ${Math.ceil(s.lockCalls / 2)} with 3 keys, interleaved call by call with ${s.lockCalls} PINGs (a loopback round trip on a VM is bimodal, ~12 µs or ~75 µs depending on whether the idle vCPU has halted, and the mix drifts: side by side, lock and PING see the same mix).`,
      `- Charge: the real service in a child process (\`bench/serve.ts\`: \`startServer(loadConfig(env))\`, LOG_LEVEL=warn), with its own database and Redis key prefix, loaded by autocannon with the same ${s.connections} connections for ${s.loadSeconds} s after a ${s.warmupSeconds} s warm-up: \`POST /users/{id}/points/charge\` with a new user per request, then every request on one user; again with REDIS_URL unset (in-process lock, same Postgres), and in embedded mode. Lock wait and hold come from the child's \`/metrics\` histograms, scraped before and after the measured window once in-flight requests have settled; their quantiles are interpolated inside buckets (0.5, 1, 2.5, 5, 10, 25 ms …), so they are estimates. Service CPU is the child's \`process_cpu_seconds_total\` over the window.`,
      `- HTTP latency percentiles count 2xx answers only, from every response's own time (autocannon's histogram rounds to whole milliseconds).`,
    ].join('\n'),
    `## 1. Ceilings`,
    table([
      info('Redis PING p50 / p99', `${ms(ping.p50)} / ${ms(ping.p99)}`),
      info(`Postgres charge-shaped tx (pool ${r.tx.poolSize}, ${r.tx.concurrency} callers)`, `${formatNumber(r.tx.txPerS)} tx/s`),
      info('Postgres charge-shaped tx p50 / p99', `${ms(r.tx.latency.p50)} / ${ms(r.tx.latency.p99)}`),
      info('bare Hono GET /ping', rps(r.hono.get.okRps)),
      info('bare Hono GET /ping p50 / p99', `${ms(r.hono.get.p50)} / ${ms(r.hono.get.p99)}`),
      info('bare Hono JSON POST', rps(r.hono.post.okRps)),
      info('bare Hono JSON POST p50 / p99', `${ms(r.hono.post.p50)} / ${ms(r.hono.post.p99)}`),
    ]),
    `## 2. Lock (RedisLock, empty work)`,
    table([
      ['withLock 1 key p50', ms(oneKey.p50), `${ms(ping.p50)} (PING p50)`, x(lockRatio), `≤ ${TARGETS.lockOverPing}×`, met(lockRatio <= TARGETS.lockOverPing)],
      info('withLock 1 key p99', ms(oneKey.p99), `${ms(ping.p99)} (PING p99)`, x(oneKey.p99 / ping.p99)),
      info('withLock 3 keys p50', ms(threeKeys.p50), `${ms(ping.p50)} (PING p50)`, x(threeKeys.p50 / ping.p50)),
      info('withLock 3 keys p99', ms(threeKeys.p99), `${ms(ping.p99)} (PING p99)`, x(threeKeys.p99 / ping.p99)),
    ]),
    `One key is two round trips (acquire with its fencing token in one script, release); three keys are four (three acquires in sorted order, one batch of releases). The rest of the ratio is the adapter's own JavaScript, which weighs more the faster the round trip.`,
    `![Lock latency vs. one Redis round trip](lock-latency.svg)`,
    `## 3. Charge over HTTP (Redis lock + Postgres)`,
    table([...chargeRows('distinct users', d, r, true), ...lockRows('distinct users', d, r), ...(hot ? hotRows(hot, r) : [])]),
    hot
      ? `One hot user / distinct users throughput: ${x(hot.load.okRps / d.load.okRps)}. Every charge of one wallet waits for the one before it to release the wallet's lock; waiters poll every 10 ms for up to 2 s, then answer 409 LOCK_BUSY, the designed answer, not a failure (${hot.load.statusCounts['409'] ?? 0} in this window). Polling is not a queue: whoever polls first after a release wins, hence the long p99.`
      : '',
    `![Throughput vs. ceilings](throughput.svg)`,
    `![Latency under load](http-latency.svg)`,
    `### Where the time goes`,
    table(cpuRows(r)),
    `A Node process runs its JavaScript on one core: near 1.0 core, the service is CPU-bound and its throughput is about 1000 ÷ (CPU ms per request). A bigger pool or a shorter lock retry interval cannot raise that; less CPU per request, or more processes (on more cores), can.`,
    `### Against the version this replaces`,
    `The issue says: "The Spring version this replaces reported 8.7 requests/s and a 115 ms lock hold." Other hardware, other method: orders of magnitude, not a fair comparison.`,
    table([
      info('charge throughput, distinct users', rps(d.load.okRps), `${rps(SPRING.rps)} (Spring, issue)`, x(d.load.okRps / SPRING.rps)),
      info('lock hold p50 (est.)', ms(d.lock.holdP50), `${ms(SPRING.lockHoldMs)} (Spring, issue)`, x(d.lock.holdP50 / SPRING.lockHoldMs)),
    ]),
    r.embedded ? `## 4. Embedded mode (PGlite in a temp DATA_DIR, in-process lock), for reference` : '',
    r.embedded ? table([...chargeRows('embedded, distinct users', r.embedded.distinct, r, false), ...lockRows('embedded, distinct users', r.embedded.distinct, r), info('embedded: service CPU (PGlite runs inside it)', `${r.embedded.distinct.serviceCores.toFixed(2)} cores`, '1 core (one event loop)', x(r.embedded.distinct.serviceCores))]) : '',
    r.embedded ? `Embedded / Redis + Postgres throughput: ${x(r.embedded.distinct.load.okRps / d.load.okRps)}. PGlite is one session in the service's own process: its transactions run one at a time.` : '',
    `## Reading the numbers`,
    reading(r),
  ];
  return `${sections.filter((part) => part !== '').join('\n\n')}\n`;
}

function reading(r: Results): string {
  const d = r.charge.distinct;
  const lockRatio = r.lock.oneKey.p50 / r.lock.ping.p50;
  const txRatio = d.load.okRps / r.tx.txPerS;
  const lines = [
    `A Redis round trip costs ${ms(r.lock.ping.p50)} here and a whole withLock ${ms(r.lock.oneKey.p50)} (${x(lockRatio)}, target ≤ ${TARGETS.lockOverPing}×, ${lockRatio <= TARGETS.lockOverPing ? 'met' : 'missed'}).`,
    `With distinct users the service answers ${rps(d.load.okRps)}: ${x(txRatio)} of what Postgres alone commits with the same transaction, pool and concurrency (${formatNumber(r.tx.txPerS)} tx/s; target ≥ ${TARGETS.chargeOverTx}×, ${txRatio >= TARGETS.chargeOverTx ? 'met' : 'missed'}), and ${x(d.load.okRps / r.hono.post.okRps)} of a bare Hono JSON POST.`,
    `Its process used ${d.serviceCores.toFixed(2)} cores at ${ms(d.serviceCpuMsPerRequest)} of CPU per charge, ${x(d.serviceCpuMsPerRequest / r.tx.clientCpuMsPerTx)} what the pg client alone spends per bare transaction${d.serviceCores >= 0.85 ? ': the single event loop is the bottleneck, not Postgres, the pool or the lock' : ''}.`,
  ];
  if (r.localLock) lines.push(`Swapping the Redis lock for the in-process one on the same Postgres gives ${rps(r.localLock.distinct.load.okRps)}, so the distributed lock costs ${pct(1 - d.load.okRps / r.localLock.distinct.load.okRps)} of the throughput.`);
  lines.push(`The lock hold under load (p50 ≈ ${ms(d.lock.holdP50)}, estimated from buckets) is the transaction plus its wait for a pooled connection and for the busy event loop; the Spring version reported 115 ms.`);
  if (r.charge.hot) {
    const hot = r.charge.hot;
    lines.push(`One hot wallet serialises its charges: ${rps(hot.load.okRps)} (${x(hot.load.okRps / d.load.okRps)} of distinct users) with a hold of ≈ ${ms(hot.lock.holdP50)}, i.e. about 1000 ÷ (hold + hand-over gap) requests per second, and ${hot.load.non2xx} non-2xx answers.`);
  }
  return lines.join(' ');
}
