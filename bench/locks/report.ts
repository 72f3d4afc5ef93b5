/**
 * reports/locks.md and its chart, from one run's results. Every figure is
 * read from the results; a sentence whose claim depends on a figure is
 * chosen by that figure. The fixed prose is the design (which use case
 * takes which key, and why), which no run changes.
 */
import { DB_LOCK_TIMEOUT_MS, DB_STATEMENT_TIMEOUT_MS, LOCK_WAIT_MS } from '../../app/time-bounds.js';
import { formatNumber } from '../svg.js';
import { barChart } from '../svg.js';
import type { Bar } from '../svg.js';
import type { LocksResults } from './bench.js';
import { LOCKS_CHART } from './bench.js';
import type { Anomalies } from './invariants.js';
import { anomalyCount } from './invariants.js';
import type { Cell } from './matrix.js';
import type { Part, Profile } from './profile.js';
import { CONNECTION, IN_FLIGHT, OTHER, PROFILED, TRADE_OFF } from './profile.js';
import { OPTIMISTIC_ATTEMPTS } from './strategies/bench-transaction.js';
import type { StrategyId } from './strategies/strategies.js';
import { STRATEGIES } from './strategies/strategies.js';
import type { WorkloadId } from './workloads.js';
import { CHARGE, WORKLOADS } from './workloads.js';

const f = formatNumber;
const ms = (value: number) => `${f(value)} ms`;
const pct = (share: number) => `${Math.round(share * 100)} %`;
const seconds = (milliseconds: number) => `${milliseconds / 1000} s`;

const SHORT: Record<StrategyId, string> = {
  redis: 'Redis lock (ships)',
  guards: 'guards alone',
  row: 'row locks',
  advisory: 'advisory locks',
  optimistic: 'optimistic',
  'in-tx': 'wrong: lock in tx',
  'before-tx': 'wrong: lock before tx',
  none: 'wrong: no lock',
};

/** Short enough for the chart's label column. */
const CHART_STRATEGY: Record<StrategyId, string> = {
  redis: 'Redis lock',
  guards: 'guards',
  row: 'row locks',
  advisory: 'advisory',
  optimistic: 'optimistic',
  'in-tx': 'wrong: in tx',
  'before-tx': 'wrong: before tx',
  none: 'wrong: no lock',
};

const CHART_WORKLOAD: Record<WorkloadId, string> = {
  'reserve-distinct': 'reserve',
  'reserve-hot': 'hot seat',
  'charge-distinct': 'charge',
  'charge-hot': 'hot wallet',
  pay: 'pay',
};

const WORKLOAD_SHORT: Record<WorkloadId, string> = {
  'reserve-distinct': 'reserve distinct',
  'reserve-hot': 'reserve hot seat',
  'charge-distinct': 'charge distinct',
  'charge-hot': 'charge hot wallet',
  pay: 'pay',
};

const isWrong = (id: StrategyId) => STRATEGIES.find((s) => s.id === id)?.wrong === true;

/** What a workload is judged by: successes per second, except the hot seat, where one success per round is the point and answers per second are the rate. */
const rate = (cell: Cell) => (cell.workload === 'reserve-hot' ? cell.requestsPerS : cell.okPerS);
const rateUnit = (workload: WorkloadId) => (workload === 'reserve-hot' ? 'answers/s' : 'ok/s');

function cellOf(r: LocksResults, strategy: StrategyId, workload: WorkloadId): Cell | undefined {
  return r.cells.find((c) => c.strategy === strategy && c.workload === workload);
}

function refusals(cell: Cell): string {
  const parts = Object.entries(cell.outcomes)
    .filter(([code]) => code !== 'OK')
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`);
  return parts.length === 0 ? '0' : parts.join(', ');
}

function anomalyText(a: Anomalies): string {
  const parts = [
    a.doubleBooked > 0 ? `${a.doubleBooked} seat(s) double-booked` : '',
    a.doublePaid > 0 ? `${a.doublePaid} reservation(s) paid twice` : '',
    a.negativeBalances > 0 ? `${a.negativeBalances} negative balance(s)` : '',
    a.lostUpdates > 0 ? `${a.lostUpdates} wallet(s) off by ${a.pointsAdrift} points (${f(a.pointsAdrift / CHARGE)} updates' worth)` : '',
    a.historyMismatch > 0 ? `${a.historyMismatch} wallet(s) whose balance is not the sum of its history` : '',
  ].filter((s) => s !== '');
  return parts.length === 0 ? 'none' : parts.join('; ');
}

/** Workloads down, strategies across: the rate each workload is judged by, and the anomalies beside it when there are any. */
function glance(r: LocksResults): string[] {
  const header = `| workload | ${STRATEGIES.map((s) => SHORT[s.id]).join(' | ')} |`;
  const rule = `|---|${STRATEGIES.map(() => '---').join('|')}|`;
  const rows = WORKLOADS.map(({ id }) => {
    const values = STRATEGIES.map((s) => {
      const cell = cellOf(r, s.id, id);
      if (cell === undefined) return '—';
      const bad = anomalyCount(cell.anomalies);
      return `${f(rate(cell))}${bad > 0 ? ` (**${bad} anomalies**)` : ''}`;
    });
    return `| ${WORKLOAD_SHORT[id]} (${rateUnit(id)}) | ${values.join(' | ')} |`;
  });
  return [header, rule, ...rows];
}

function tableRow(cell: Cell): string {
  const c = cell.connections;
  const a = cell.anomalies;
  return [
    `| ${SHORT[cell.strategy]}`,
    WORKLOAD_SHORT[cell.workload],
    `${cell.ok}/${cell.requests}`,
    f(cell.okPerS),
    f(cell.requestsPerS),
    f(cell.latency.p50),
    f(cell.latency.p99),
    `${cell.work.rolledBack}/${cell.work.transactions}`,
    String(cell.work.retries),
    refusals(cell),
    `${f(c.lockWaitMean)} / ${c.lockWaitMax}`,
    `${f(c.idleInTxMean)} / ${c.idleInTxMax}`,
    f(c.poolWaitMean),
    `${a.doubleBooked} / ${a.doublePaid} / ${a.negativeBalances} / ${a.lostUpdates} (${a.pointsAdrift} pts) / ${a.historyMismatch} |`,
  ].join(' | ');
}

/** Each workload's leader among the candidates that kept every invariant, and what the others cost against it. */
function winners(r: LocksResults): string[] {
  const lines: string[] = [];
  for (const { id: workload, name } of WORKLOADS) {
    const candidates = r.cells.filter((c) => c.workload === workload && !isWrong(c.strategy));
    const clean = candidates.filter((c) => anomalyCount(c.anomalies) === 0).sort((a, b) => rate(b) - rate(a));
    const broken = candidates.filter((c) => anomalyCount(c.anomalies) > 0);
    const best = clean[0];
    if (best === undefined) {
      lines.push(`- **${name}**: no candidate kept every invariant in this run (see the table): a bug to chase before any ranking.`);
      continue;
    }
    const others = clean
      .slice(1)
      .map((c) => `${SHORT[c.strategy]} ${f(rate(c))} (${f(rate(c) / rate(best))}×, p99 ${ms(c.latency.p99)})`)
      .join('; ');
    let text = `- **${name}**: ${SHORT[best.strategy]} leads with ${f(rate(best))} ${rateUnit(workload)} (p99 ${ms(best.latency.p99)}); ${others}.`;
    if (broken.length > 0) text += ` **Broke an invariant:** ${broken.map((c) => `${SHORT[c.strategy]} (${anomalyText(c.anomalies)})`).join('; ')}.`;
    text += ` ${workloadComment(r, workload)}`;
    lines.push(text);
  }
  return lines;
}

function workloadComment(r: LocksResults, workload: WorkloadId): string {
  const redis = cellOf(r, 'redis', workload);
  const guards = cellOf(r, 'guards', workload);
  const row = cellOf(r, 'row', workload);
  const advisory = cellOf(r, 'advisory', workload);
  const optimistic = cellOf(r, 'optimistic', workload);
  if (redis === undefined || guards === undefined || row === undefined || advisory === undefined || optimistic === undefined) return '';
  switch (workload) {
    case 'reserve-distinct':
    case 'charge-distinct': {
      const ratio = redis.okPerS / guards.okPerS;
      const keys = workload === 'reserve-distinct' ? 'two keys per reserve, the user\'s seats then the seat, each acquired and released in a round trip' : 'one key per charge, acquired and released in a round trip each';
      const verdict =
        ratio < 0.95
          ? `gives ${f(ratio)}× the throughput of the guards alone`
          : ratio <= 1.05
            ? `is within noise of the guards alone (${f(ratio)}×)`
            : `came out ${f(ratio)}× the guards alone in this run: the lock only adds work here, so the gain is the lock's round trips spacing out the callers' demand for the pool, or run-to-run noise`;
      return (
        `Nothing contends here, so every strategy runs the same transaction and the differences are the price of locking: the Redis lock, ${keys}, ${verdict}; ` +
        `the database's locks cost a statement per key inside the transaction (row locks ${f(row.okPerS / guards.okPerS)}×, advisory ${f(advisory.okPerS / guards.okPerS)}× the guards alone).`
      );
    }
    case 'reserve-hot': {
      const rounds = (c: Cell) => c.okPerRound.every((n) => n === 1);
      const allOne = [redis, guards, row, advisory, optimistic].every(rounds);
      return (
        `${allOne ? 'Every candidate sold each hot seat to exactly one caller per round.' : 'Not every candidate had exactly one winner per round (see the table).'} ` +
        `Where they differ is the wasted work of the losers that passed the cheap read: the Redis lock refuses them before BEGIN ` +
        `(${redis.outcomes.LOCK_BUSY ?? 0} LOCK_BUSY, ${redis.work.rolledBack} transactions rolled back); row and advisory locks refuse them inside a transaction ` +
        `(${row.work.rolledBack} and ${advisory.work.rolledBack} rolled back); the guards alone let each run its hold statement and roll back (${guards.work.rolledBack}); ` +
        `optimistic concurrency rolls back ${optimistic.work.rolledBack} and retries ${optimistic.work.retries} times before the re-read shows the seat taken.`
      );
    }
    case 'charge-hot': {
      const lockWaiters = (c: Cell) => `${f(c.connections.lockWaitMean)} on average (at most ${c.connections.lockWaitMax})`;
      return (
        `The wallet's charges queue one behind the other in every strategy; what differs is where they queue. ` +
        `Row locks keep ${lockWaiters(row)} pooled connections waiting on the wallet's row lock in Postgres, advisory locks ${lockWaiters(advisory)}, ` +
        `the guards alone ${lockWaiters(guards)} (each guarded update waits on the row), the Redis lock ${lockWaiters(redis)}: its waiters hold no connection until they hold the key. ` +
        `Refused: Redis lock ${refusals(redis)}; row locks ${refusals(row)}; advisory ${refusals(advisory)} (Postgres waits at most lock_timeout, ${seconds(DB_LOCK_TIMEOUT_MS)}, the Redis lock ${seconds(LOCK_WAIT_MS)}). ` +
        `Optimistic concurrency retried ${optimistic.work.retries} times, rolled back ${optimistic.work.rolledBack} of ${optimistic.work.transactions} transactions, and refused ${optimistic.requests - optimistic.ok} charges after ${OPTIMISTIC_ATTEMPTS} attempts` +
        `${[redis, guards, row, advisory].every((c) => optimistic.okPerS < c.okPerS) ? ': on a hot row it is the slowest of them, every conflict a whole transaction thrown away.' : '.'}`
      );
    }
    case 'pay': {
      const cells = [redis, guards, row, advisory, optimistic];
      const clean = cells.every((c) => anomalyCount(c.anomalies) === 0);
      return (
        `${clean ? 'Every candidate took each reservation at most once and never overdrew a wallet.' : 'A candidate broke an invariant (above).'} ` +
        `Refused (the second click of each pair, and the hold a buyer cannot afford): ${cells.map((c) => `${SHORT[c.strategy]} ${refusals(c)}, ${c.work.rolledBack} of ${c.work.transactions} transactions rolled back`).join('; ')}` +
        `${optimistic.work.retries > 0 ? `; optimistic concurrency also retried ${optimistic.work.retries} times` : ''}.`
      );
    }
  }
}

function distributedLockWorth(r: LocksResults): string[] {
  const hot = (id: StrategyId) => cellOf(r, id, 'charge-hot');
  const seat = (id: StrategyId) => cellOf(r, id, 'reserve-hot');
  const distinct = (id: StrategyId) => cellOf(r, id, 'charge-distinct');
  const [redisHot, rowHot, redisSeat, guardsSeat, redisDistinct, guardsDistinct] = [hot('redis'), hot('row'), seat('redis'), seat('guards'), distinct('redis'), distinct('guards')];
  if (!redisHot || !rowHot || !redisSeat || !guardsSeat || !redisDistinct || !guardsDistinct) return [];
  const cost = 1 - redisDistinct.okPerS / guardsDistinct.okPerS;
  const guardsClean = r.cells.filter((c) => c.strategy === 'guards').every((c) => anomalyCount(c.anomalies) === 0);
  return [
    `Measured here: on keys nobody shares, the Redis lock ${cost > 0.05 ? `costs ${pct(cost)} of the charge throughput` : 'costs no measurable charge throughput'} (${f(redisDistinct.okPerS)} vs ${f(guardsDistinct.okPerS)} ok/s). ` +
      `On a hot key it keeps the queue out of Postgres: ${f(redisHot.connections.lockWaitMean)} connections waiting on a lock in Postgres on average for the hot wallet under the Redis lock, against ${f(rowHot.connections.lockWaitMean)} under row locks; ` +
      `and it refuses a hot seat's losers before any transaction (${redisSeat.work.transactions} transactions begun for ${redisSeat.requests} attempts, against ${guardsSeat.work.transactions} for ${guardsSeat.requests} with the guards alone).`,
    '',
    `In this service every lock covers exactly one transaction in one store (the cache invalidation and the queue token come after the release), so the database's own locks would be enough for correctness${guardsClean ? ', and the guards alone already are (strategy 2 kept every invariant on every workload)' : ''}. A distributed lock is worth its cost when:`,
    '- **the work spans more than one transaction or more than one store**: a row lock ends at COMMIT, so it cannot cover a payment that calls an outside provider and then writes, a multi-step saga, or a write to Redis and Postgres that must not interleave with another writer. Here the idempotency key\'s lock (`idem:…`, fail-fast) is held around the whole request, not only its transaction: a retry that arrives while the first is still running is answered IDEMPOTENCY_IN_PROGRESS at once instead of queueing on the unique index\'s row;',
    `- **contention should stay out of the database**: a waiter on a row or advisory lock holds a pooled connection (the pool has ${r.poolSize}) and a server backend for as long as it waits, so one hot wallet can starve every other request of connections; a Redis waiter holds a promise. Fail-fast keys (a seat) turn losers away before BEGIN;`,
    '- **the wait needs a policy the database does not give**: per key fail-fast or bounded waits, served in order (the release channel), observable per key family (lock_wait_seconds, lock_hold_seconds).',
    'It is not worth it when keys rarely collide and the work is one short transaction: then it is two extra round trips per key for nothing the guarded statements do not already give.',
  ];
}

const SCOPE_TABLE = [
  '| key | taken by | why this scope | not wider, because | not narrower, because |',
  '|---|---|---|---|---|',
  '| `point:{userId}` | charge (bounded wait), pay | one wallet is one row, and its balance is read and written by both | a key per schedule or global would queue unrelated buyers | a key per request would let two writes of one balance race (the guarded statement would still refuse an overdraft, but as a rolled-back transaction, not a queue) |',
  '| `seat:{scheduleId}:{seatNo}` | reserve (fail-fast; also the seats of the buyer\'s own ended holds it frees), pay, expire | the seat row is the state (AVAILABLE → HELD → SOLD) all three move | a schedule-wide key would serialise a whole sale: thousands of buyers of different seats | the seat is the smallest thing two buyers can want at once |',
  '| `reservation:{id}` | pay, expire | payment and the sweeper both decide one reservation (CONFIRMED or EXPIRED) | — | today both also take the seat key, so it adds no exclusion; it keeps the rule "every writer of a resource takes that resource\'s key" true per resource, so a future writer of a reservation alone is covered |',
  '| `user-seats:{scheduleId}:{userId}` | reserve (bounded wait, taken before the seat key) | the seat limit is one number per buyer and schedule, checked then used | a per-user key would queue a buyer\'s reserves of unrelated schedules, whose limits are separate | a per-seat key cannot protect a limit that spans seats |',
  '| `idem:{scope}:{key}` | charge and pay with an Idempotency-Key (fail-fast, whole request) | one request\'s identity, scoped by user or reservation so keys of different callers never meet | — | — |',
  '| `seed:demo-catalog` | start-up seeding | one catalog seeded once by the first of several instances | — | — |',
];

function wrongOrders(r: LocksResults): string[] {
  const lines: string[] = [];
  const explain: Partial<Record<StrategyId, string>> = {
    'in-tx': 'The lock is released when the work ends, before COMMIT: the next holder reads the committed state, which does not yet have the previous holder\'s write, and writes on top of it (its update waits on the row, then overwrites).',
    'before-tx': 'The lock covers only what ran before the transaction; the read-modify-write inside it is unprotected, as if there were no lock.',
    none: 'Nothing serialises the read-modify-write: every caller that reads before another commits writes over it.',
  };
  for (const strategy of STRATEGIES.filter((s) => s.wrong)) {
    const cells = r.cells.filter((c) => c.strategy === strategy.id);
    const damaged = cells.filter((c) => anomalyCount(c.anomalies) > 0);
    const found =
      damaged.length === 0
        ? 'no anomaly found in this run (a race the run did not hit is still a race)'
        : damaged.map((c) => `${WORKLOAD_SHORT[c.workload]}: ${anomalyText(c.anomalies)}`).join('; ');
    const hot = cells.find((c) => c.workload === 'charge-hot');
    const held =
      strategy.id === 'in-tx' && hot !== undefined && hot.connections.idleInTxMean >= 1
        ? ` And it holds connections while it waits: on the hot wallet ${f(hot.connections.idleInTxMean)} connections on average (at most ${hot.connections.idleInTxMax}) sat idle inside their transaction waiting for the Redis lock.`
        : '';
    lines.push(`- **${strategy.name}**: ${found}. ${explain[strategy.id] ?? ''}${held}`);
  }
  return lines;
}

function profileOf(r: LocksResults, workload: WorkloadId, variant: string): Profile | undefined {
  return r.profiles.find((p) => p.workload === workload && p.variant.id === variant);
}

function topParts(parts: readonly Part[], n: number): string {
  return parts
    .slice(0, n)
    .map((p) => `${p.label} ${ms(p.meanMs)} (${pct(p.share)})`)
    .join(', ');
}

function profileAnswers(r: LocksResults): string[] {
  const lines: string[] = [];
  for (const workload of PROFILED) {
    const at32 = profileOf(r, workload, 'ships-32');
    const at4 = profileOf(r, workload, 'ships-4');
    if (at32 === undefined || at4 === undefined) continue;
    const what = workload === 'charge-distinct' ? 'A charge\'s hold of its wallet key' : 'A reserve\'s hold of its seat key';
    const sum = (p: Profile, labels: readonly string[]) => p.parts.filter((x) => labels.includes(x.label)).reduce((a, x) => a + x.meanMs, 0);
    const queue32 = sum(at32, [CONNECTION, OTHER]);
    const variants = r.profiles.filter((p) => p.workload === workload && p.variant.id !== 'ships-4');
    const met = variants.filter((p) => p.hold.p50 <= 3);
    const best = [...variants].sort((a, b) => a.hold.p50 - b.hold.p50)[0]!;
    const commit = (p: Profile) => p.parts.find((x) => x.label === 'COMMIT')?.meanMs ?? Number.NaN;
    const floor = at4.statementsPerHold * r.ceilings.pgSelect.p50 + r.ceilings.redisPing.p50;
    const top = at32.parts[0];
    lines.push(
      `- ${what}: p50 ${ms(at32.hold.p50)} at 32 callers, ${ms(at4.hold.p50)} at 4` +
        ` (its floor on this machine: ${f(at4.statementsPerHold)} round trips to Postgres at the \`select 1\` ceiling plus the release's PING, ${ms(floor)}). ` +
        `At 32 it is dominated by ${top === undefined ? 'nothing measured' : `${top.label} (${ms(top.meanMs)} of a mean ${ms(at32.hold.mean)}, ${pct(top.share)})`}; then ${topParts(at32.parts.slice(1), 3)}. ` +
        `Waiting for a pooled connection and the event loop's queue between steps together make ${ms(queue32)} of it ` +
        `(event-loop delay p99 ${ms(at32.loopDelay.p99)} at 32, ${ms(at4.loopDelay.p99)} at 4). ` +
        (commit(at32) > commit(at4) * 1.5
          ? `The statements themselves take longer at 32 than at 4 (COMMIT ${ms(commit(at32))} against ${ms(commit(at4))}): a statement is timed from its send to its answer handled, so it also holds the answer's wait in a busy event loop and Postgres's own queue for the ${r.machine.split(' ')[0]} shared cores. `
          : `The statements take about as long at 32 as at 4 (COMMIT ${ms(commit(at32))} against ${ms(commit(at4))}). `) +
        (at4.hold.p50 <= 3
          ? 'With few callers the work fits in 3 ms: what 32 callers add is queueing inside the hold. '
          : `Even at 4 callers the hold is above 3 ms, ${f(at4.hold.p50 / floor)}× its round-trip floor; its largest part there is ${at4.parts[0]?.label ?? '—'} (${ms(at4.parts[0]?.meanMs ?? Number.NaN)})` +
            `${at4.parts[0]?.label === 'COMMIT' ? ', which waits for the WAL to reach the disk (synchronous_commit), a cost no `select 1` pays' : ''}. `) +
        (met.length > 0
          ? `Hold p50 ≤ 3 ms at 32 callers is met by ${met.map((p) => `${p.variant.name} (${ms(p.hold.p50)}, ${f(p.okPerS)} ok/s against ${f(at32.okPerS)} as shipped)`).join('; ')}.`
          : `No variant measured brings the hold p50 to 3 ms at 32 callers; the lowest is ${best.variant.name}, ${ms(best.hold.p50)}, at ${f(best.okPerS)} ok/s against ${f(at32.okPerS)} as shipped.`),
    );
  }
  const hotShips = profileOf(r, TRADE_OFF.workload, 'ships-32');
  const hotFirst = profileOf(r, TRADE_OFF.workload, 'conn-first-32');
  const hotBounded = profileOf(r, TRADE_OFF.workload, 'bounded-32');
  if (hotShips !== undefined && hotFirst !== undefined && hotBounded !== undefined) {
    const show = (p: Profile) =>
      `${f(p.poolWaitMean)} callers waiting for a pooled connection on average, hold p50 ${ms(p.hold.p50)}${p.hold.p50 <= 3 ? ' (≤ 3 ms)' : ''}, ${f(p.okPerS)} ok/s, ${p.refused} refused`;
    const distinct = profileOf(r, 'charge-distinct', 'ships-32');
    lines.push(
      `- The trade-off, measured on one hot wallet at 32 callers: as shipped, ${show(hotShips)}; with the connection reserved before the lock, ${show(hotFirst)}; with ${IN_FLIGHT} in flight, ${show(hotBounded)}. ` +
        (hotFirst.poolWaitMean > hotShips.poolWaitMean + 1
          ? `Reserving the connection first makes every waiter for the wallet's key hold one of the ${r.poolSize} connections while it waits: the lock's queue becomes a queue of held connections, and every other request of the instance would wait for the pool behind one hot wallet. It shortens the hold only by moving the wait for a connection in front of the lock. `
          : `In this run reserving the connection first did not queue more callers at the pool than as shipped. `) +
        (hotBounded.poolWaitMean <= hotShips.poolWaitMean + 0.5
          ? 'Bounding requests in flight has no such cost: the requests beyond the bound wait before they take a connection or a key.'
          : 'Bounding requests in flight still left callers waiting for the pool in this run.') +
        (distinct !== undefined && hotShips.hold.p50 < distinct.hold.p50 / 2
          ? ` And the same charge holds its key ${ms(hotShips.hold.p50)} on one hot wallet, where one charge runs at a time, against ${ms(distinct.hold.p50)} on distinct wallets: the long hold at 32 callers is 32 transactions sharing the pool, the event loop and the cores at once, not the lock.`
          : ''),
    );
  }
  return lines;
}

function profileTable(r: LocksResults): string[] {
  const lines = [
    '| workload | variant | hold p50 | hold p99 | ok/s | request p99 | event-loop delay p50 / p99 | waiting for a connection (mean callers) | largest parts of the hold (mean, share) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const p of r.profiles) {
    lines.push(
      `| ${WORKLOAD_SHORT[p.workload]} | ${p.variant.name} | ${ms(p.hold.p50)} | ${ms(p.hold.p99)} | ${f(p.okPerS)} | ${ms(p.latency.p99)} | ${ms(p.loopDelay.p50)} / ${ms(p.loopDelay.p99)} | ${f(p.poolWaitMean)} | ${topParts(p.parts, 4)} |`,
    );
  }
  return lines;
}

function partsTable(r: LocksResults): string[] {
  const lines: string[] = [];
  for (const workload of PROFILED) {
    const at32 = profileOf(r, workload, 'ships-32');
    const at4 = profileOf(r, workload, 'ships-4');
    if (at32 === undefined || at4 === undefined) continue;
    lines.push('', `**${WORKLOAD_SHORT[workload]}, as shipped**: mean ms per hold (p50 in brackets), 32 callers vs 4.`, '', '| part | 32 callers | 4 callers |', '|---|---|---|');
    const labels = [...new Set([...at32.parts, ...at4.parts].map((p) => p.label))];
    const show = (p: Profile, label: string) => {
      const part = p.parts.find((x) => x.label === label);
      return part === undefined ? '—' : `${f(part.meanMs)} (${f(part.p50Ms)}), ${pct(part.share)}`;
    };
    for (const label of labels) lines.push(`| ${label} | ${show(at32, label)} | ${show(at4, label)} |`);
    lines.push(`| **hold** | ${f(at32.hold.mean)} (${f(at32.hold.p50)}) | ${f(at4.hold.mean)} (${f(at4.hold.p50)}) |`);
  }
  return lines;
}

export function renderLocksChart(r: LocksResults): string {
  const bars: Bar[] = [];
  for (const { id } of WORKLOADS) {
    for (const strategy of STRATEGIES) {
      const cell = cellOf(r, strategy.id, id);
      if (cell === undefined) continue;
      bars.push({ label: `${CHART_WORKLOAD[id]} · ${CHART_STRATEGY[strategy.id]}`, value: rate(cell), kind: strategy.wrong ? 'reference' : 'measured', unit: rateUnit(id) });
    }
  }
  return barChart({ title: `ok/s by strategy (hot seat: answers/s), ${r.sizes.callers} callers; orange: wrong orders`, unit: 'ok/s', bars });
}

export function renderLocksReport(r: LocksResults): string {
  const quick = r.quick ? ['', '> **BENCH_QUICK**: shortened runs; these figures only show that the scenarios run. Publish only a full run.', ''] : [];
  const wrongDamage = r.cells.filter((c) => isWrong(c.strategy)).reduce((sum, c) => sum + anomalyCount(c.anomalies), 0);
  const candidatesClean = r.cells.filter((c) => !isWrong(c.strategy)).every((c) => anomalyCount(c.anomalies) === 0);
  return [
    '# Locks: what each strategy costs, and what each wrong order breaks',
    '',
    `Written by \`tsx bench/locks/run.ts --write-report\` (and at the end of \`npm run bench\`) on ${r.date.toISOString()}, in ${f(r.elapsedS)} s, on ${r.machine}, Postgres ${r.postgres}. ` +
      `Ceilings of this run: Redis PING p50 ${ms(r.ceilings.redisPing.p50)}, Postgres \`select 1\` p50 ${ms(r.ceilings.pgSelect.p50)} (each alone on its connection). ` +
      'Every figure below is read from this run; the method is at the end.',
    ...quick,
    '',
    '## The answers',
    '',
    `${candidatesClean ? 'Every candidate (strategies 1 to 5) kept every invariant on every workload' : '**A candidate broke an invariant** (see below)'}; ` +
      `${wrongDamage > 0 ? `the wrong orders, with the guards off, broke them ${wrongDamage} times (counted per seat, reservation and wallet)` : 'the wrong orders broke nothing in this run'}.`,
    '',
    '### Which strategy wins where',
    '',
    ...glance(r),
    '',
    ...winners(r),
    '',
    '### When a distributed lock is worth its cost over the database\'s own locks',
    '',
    ...distributedLockWorth(r),
    '',
    '### The scope of each lock key',
    '',
    'Keys are built in core/keys.ts only; a use case that writes several resources takes all their keys, sorted (no deadlock between two multi-key callers).',
    '',
    ...SCOPE_TABLE,
    '',
    '### The wrong orders, with the database guards off',
    '',
    ...wrongOrders(r),
    '',
    '### The lock hold: what it is made of (target: p50 ≤ 3 ms at 32 connections)',
    '',
    ...profileAnswers(r),
    '',
    '## The table',
    '',
    `${r.sizes.callers} callers; pool of ${r.poolSize} connections. "ok" is successful requests of all requests; "rolled back" is transactions that did not commit of all begun; ` +
      '"lock waits" and "idle in tx" are Postgres connections of the bench database sampled from pg_stat_activity every 20 ms (mean / max): waiting on a lock, and inside a transaction waiting for the application; ' +
      '"pool queue" is callers waiting for a pooled connection (mean). Anomalies, counted from the database after the run: double-booked seats / reservations paid twice / negative balances / wallets off their expected balance (points) / wallets whose balance is not the sum of their history.',
    '',
    '| strategy | workload | ok | ok/s | answered/s | p50 ms | p99 ms | rolled back | retries | refused | lock waits | idle in tx | pool queue | anomalies |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.cells.map(tableRow),
    '',
    `![throughput by strategy and workload](${LOCKS_CHART})`,
    '',
    '## The lock-hold profile',
    '',
    'What ships (RedisLock + KyselyTransactionManager), the hold of the wallet key (charge) and of the seat key (reserve), from the work starting under the lock to the key released; each part is timed per hold (a pooled connection: from asking the pool to having one; a statement: from sending it to its answer handled; the release: from the work\'s end to the release answered; the rest: JavaScript and the event loop\'s queue between those steps).',
    '',
    ...profileTable(r),
    ...partsTable(r),
    '',
    '## Method',
    '',
    `- **Driven in-process**: the use cases (ChargePoints, ReserveSeat, PayReservation) called directly by ${r.sizes.callers} concurrent async callers in one Node process, not over HTTP, so the figures are the lock's and the database's, not the web stack's. One process means one RedisLock: waiters of a key queue in its in-process line; across instances the release wakes the first waiter of each. The client, Redis and Postgres share the machine's cores.`,
    `- **Real Redis and Postgres**: a database and a Redis key prefix of the run's own, dropped at the end (also on Ctrl-C). The pool and the Postgres time bounds are the app's (DATABASE_POOL_SIZE ${r.poolSize}, lock_timeout ${seconds(DB_LOCK_TIMEOUT_MS)}, statement_timeout ${seconds(DB_STATEMENT_TIMEOUT_MS)}); the use cases' waits are the app's (wallet, user's seats and payment keys ${seconds(LOCK_WAIT_MS)}, seat fail-fast). The catalog cache is off (its invalidation runs after the lock) and the queue token is a no-op.`,
    `- **Workloads**, each on rows of its own: reserve on ${r.sizes.distinct} distinct seats by distinct buyers; ${r.sizes.hotRounds} rounds of ${r.sizes.callers} buyers reserving one fresh seat at once; ${r.sizes.distinct} charges of distinct wallets; ${r.sizes.hotCharges} charges of one wallet; pay: ${r.sizes.payUsers} buyers, each holding 4 seats and able to afford 3, every reservation paid by two callers at once. Each run stops taking new requests after ${r.capS} s.`,
    '- **Strategies** (bench/locks/strategies/, bench-only; the service keeps the first): 1. the shipped RedisLock and KyselyTransactionManager; 2. a LockPort that takes nothing; 3. the keys the use case asks for, locked with `SELECT … FOR UPDATE` (NOWAIT for a fail-fast key) on the wallet, seat, reservation and seat-counter rows at the start of the transaction; 4. `pg_advisory_xact_lock(hashtext(key))` (`pg_try_advisory_xact_lock` for a fail-fast key) on the same keys; 5. no lock: the wallet and the seat are read with a `version` column (added to this database only) and written only if it is unchanged, the transaction retried up to ' +
      `${OPTIMISTIC_ATTEMPTS} times with a random back-off, then refused; 6. with the balance CHECK, the one-live-reservation-per-seat index and the one-payment-per-reservation constraint dropped from this database, and the repositories' guarded statements replaced by read-then-write ones (decide on what was read, write unconditionally): (a) the Redis lock taken after BEGIN and released when the work ends, before COMMIT; (b) the Redis lock taken and released before the transaction; (c) no lock. For 3, 4 and 6a a LockPort hands its keys to the transaction through async context, so the use cases run unchanged.`,
    '- **Invariants**, checked after every run from the database: no seat with two live reservations, no reservation paid twice, no negative balance, every balance equal to the sum of its history, and every balance equal to its opening balance plus what the successful requests were answered (a lost update shows as a difference).',
    '- **Counted**: answers by code, latency of every request (nearest-rank p50/p99), transactions begun and rolled back (a TransactionPort decorator), optimistic retries, and the Postgres connections of the bench database sampled every 20 ms.',
    `- **Profile**: the pool's connect and each query are timed inside a hold (async context), the hold by a LockPort decorator as the service's lock_hold_seconds measures it; event-loop delay by perf_hooks.monitorEventLoopDelay. Variants: as shipped at 32 and 4 callers; a pooled connection reserved before the lock and the transaction run on it; at most ${IN_FLIGHT} use-case calls in flight (the rest wait in front); both. A warm-up run comes first and is discarded.`,
    '',
  ].join('\n');
}
