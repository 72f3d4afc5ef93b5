/**
 * Concurrent charges, some retried with the same Idempotency-Key, under
 * every interleaving fast-check's scheduler picks. Each in-memory adapter
 * awaits a scheduled tick before each step, so the scheduler decides which
 * transaction moves next, and shrinks a failure to a short interleaving.
 *
 * Both layers are shown: the invariants hold with the lock alone, with the
 * database guards alone, and with both; with neither, a counterexample is found.
 */
import fc from 'fast-check';
import { MemoryDatabase } from '../../adapters/memory/memory-database.js';
import { MemoryLock } from '../../adapters/memory/memory-lock.js';
import { MemoryTransactionManager } from '../../adapters/memory/memory-transaction.js';
import type { Tick } from '../../adapters/memory/tick.js';
import { immediateTick } from '../../adapters/memory/tick.js';
import { DomainError } from '../../core/domain/errors.js';
import { BALANCE_LIMIT } from '../../core/domain/points.js';
import type { LockPort } from '../../core/ports/lock.port.js';
import { ChargePoints, type ChargePointsInput, type ChargePointsOutput } from '../../core/usecases/charge-points.js';
import { ManualClock } from '../support/manual-clock.js';
import { NoopLock } from '../support/noop-lock.js';
import type { Protection } from '../support/protection-layers.js';
import { describeProtectionLayers } from '../support/protection-layers.js';

const USERS = ['u1', 'u2'] as const;
/** u2 starts near the limit, so some charges must be refused. */
const NEAR_LIMIT = BALANCE_LIMIT - 1_500;
/** Errors a charge may answer with; anything else is a bug. */
const EXPECTED_CODES = new Set(['BALANCE_LIMIT_EXCEEDED', 'IDEMPOTENCY_KEY_REUSED', 'IDEMPOTENCY_IN_PROGRESS']);

/** A charge, and whether its client sends it again once answered (a retry that must replay, not charge twice). */
interface Request {
  readonly input: ChargePointsInput;
  readonly retried: boolean;
}

const requestArb: fc.Arbitrary<Request> = fc.record({
  input: fc.record(
    {
      userId: fc.constantFrom(...USERS),
      amount: fc.constantFrom(100, 700, 1_000),
      idempotencyKey: fc.constantFrom('k1', 'k2'),
    },
    { requiredKeys: ['userId', 'amount'] },
  ),
  retried: fc.boolean(),
});

type Outcome = { readonly input: ChargePointsInput } & (
  | { readonly ok: true; readonly output: ChargePointsOutput }
  | { readonly ok: false; readonly code: string }
);

async function runCharges(s: fc.Scheduler, requests: readonly Request[], protection: Protection) {
  let tick: Tick = () => s.schedule(Promise.resolve());
  const db = new MemoryDatabase(() => tick());
  const tx = new MemoryTransactionManager(db, { guarded: protection.guards });
  const clock = new ManualClock();
  const lock: LockPort = protection.lock ? new MemoryLock(clock, { tick: () => tick() }) : new NoopLock();

  // u2's starting balance, committed before the race begins.
  tick = immediateTick;
  await tx.run(async (uow) => {
    await uow.points.credit('u2', NEAR_LIMIT, BALANCE_LIMIT);
    await uow.points.appendHistory({ userId: 'u2', kind: 'CHARGE', amount: NEAR_LIMIT, balanceAfter: NEAR_LIMIT, at: clock.now() });
  });
  tick = () => s.schedule(Promise.resolve());

  const chargePoints = new ChargePoints(lock, tx, clock);
  const send = (input: ChargePointsInput): Promise<Outcome> =>
    chargePoints.execute(input).then(
      (output) => ({ input, ok: true, output }),
      (error: unknown) => ({ input, ok: false, code: error instanceof DomainError ? error.code : String(error) }),
    );
  const answered = await s.waitFor(
    Promise.all(requests.map(async ({ input, retried }) => (retried ? [await send(input), await send(input)] : [await send(input)]))),
  );
  const outcomes = answered.flat();

  tick = immediateTick;
  const wallets = await tx.run(async (uow) =>
    Promise.all(USERS.map(async (userId) => ({ userId, balance: await uow.points.balanceOf(userId), history: await uow.points.history(userId, 1_000) }))),
  );
  return { outcomes, wallets };
}

/** Throws (with a reason) when an invariant is broken. */
function checkInvariants({ outcomes, wallets }: Awaited<ReturnType<typeof runCharges>>): void {
  for (const outcome of outcomes) {
    if (!outcome.ok && !EXPECTED_CODES.has(outcome.code)) throw new Error(`unexpected failure ${outcome.code}`);
  }
  for (const { userId, balance, history } of wallets) {
    if (balance < 0 || balance > BALANCE_LIMIT) throw new Error(`${userId}: balance ${balance} out of bounds`);
    const oldestFirst = [...history].reverse();
    let running = 0;
    for (const entry of oldestFirst) {
      running += entry.kind === 'CHARGE' ? entry.amount : -entry.amount;
      if (entry.balanceAfter !== running) throw new Error(`${userId}: history says ${entry.balanceAfter}, sum says ${running}`);
    }
    if (balance !== running) throw new Error(`${userId}: balance ${balance} but history sums to ${running} (lost update)`);

    const applied = outcomes.filter((o) => o.ok && !o.output.replayed && o.input.userId === userId);
    const seed = userId === 'u2' ? NEAR_LIMIT : 0;
    const appliedSum = applied.reduce((sum, o) => sum + o.input.amount, seed);
    if (balance !== appliedSum) throw new Error(`${userId}: balance ${balance} but accepted charges sum to ${appliedSum}`);

    for (const key of ['k1', 'k2']) {
      const withKey = outcomes.filter((o) => o.ok && o.input.userId === userId && o.input.idempotencyKey === key);
      const firsts = withKey.filter((o) => o.ok && !o.output.replayed);
      if (firsts.length > 1) throw new Error(`${userId}/${key}: applied ${firsts.length} times`);
      const answers = new Set(withKey.map((o) => (o.ok ? o.output.balance : -1)));
      if (answers.size > 1) throw new Error(`${userId}/${key}: replays answered ${[...answers].join(' and ')}`);
    }
  }
}

function chargeProperty(protection: Protection) {
  return fc.asyncProperty(fc.scheduler(), fc.array(requestArb, { minLength: 2, maxLength: 8 }), async (s, requests) => {
    checkInvariants(await runCharges(s, requests, protection));
  });
}

describeProtectionLayers('charging points under any interleaving', chargeProperty, {
  numRuns: 150,
  unprotectedRuns: 300,
  invariantMessages: /lost update|applied \d times|accepted charges|history says|out of bounds|replays answered/,
});
