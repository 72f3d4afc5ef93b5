/**
 * The breaker's state machine on a clock the test moves: when it opens,
 * what it lets through while open and half-open, what closes it, and that
 * late outcomes of calls admitted in an earlier state change nothing.
 */
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { BreakerState } from '../../core/support/circuit-breaker.js';
import { CircuitBreaker, CircuitOpenError } from '../../core/support/circuit-breaker.js';
import type { Deferred } from '../support/deferred.js';
import { deferred } from '../support/deferred.js';

const THRESHOLD = 3;
const OPEN_MS = 1_000;

describe('CircuitBreaker', () => {
  let time: number;
  let states: BreakerState[];
  let breaker: CircuitBreaker;
  let calls: number;

  const ok = () =>
    breaker.run(async () => {
      calls++;
      return 'ok';
    });
  const fail = () =>
    breaker
      .run(async () => {
        calls++;
        throw new Error('down');
      })
      .catch((error: unknown) => error);
  const failTimes = async (n: number) => {
    for (let i = 0; i < n; i++) await fail();
  };

  beforeEach(() => {
    time = 0;
    states = [];
    calls = 0;
    breaker = new CircuitBreaker({ failureThreshold: THRESHOLD, openMs: OPEN_MS, now: () => time, onStateChange: (state) => states.push(state) });
  });

  it('passes calls through while closed, with their values and their errors', async () => {
    await expect(ok()).resolves.toBe('ok');
    const boom = new Error('boom');
    await expect(breaker.run(() => Promise.reject(boom))).rejects.toBe(boom);
    expect(breaker.state).toBe('closed');
    expect(calls).toBe(1);
  });

  it('opens after failureThreshold failures in a row, not one fewer', async () => {
    await failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
    await fail();
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);
  });

  it('counts only failures in a row: a success in between starts the count again', async () => {
    await failTimes(THRESHOLD - 1);
    await ok();
    await failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
  });

  it('counts a call that throws before it returns a promise as a failure', async () => {
    for (let i = 0; i < THRESHOLD; i++) {
      await expect(
        breaker.run(() => {
          throw new Error('sync');
        }),
      ).rejects.toThrow('sync');
    }
    expect(breaker.state).toBe('open');
  });

  it('while open, refuses every call without making it, until openMs have passed', async () => {
    await failTimes(THRESHOLD);
    calls = 0;
    time += OPEN_MS - 1;
    await expect(ok()).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(fail()).resolves.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(0);
    expect(breaker.state).toBe('open');
  });

  it('after openMs lets exactly one probe through; the others are refused while it runs', async () => {
    await failTimes(THRESHOLD);
    time += OPEN_MS;
    const probeAnswer = deferred<string>();
    let probes = 0;
    const probe = breaker.run(() => {
      probes++;
      return probeAnswer.promise;
    });
    expect(breaker.state).toBe('half-open');
    calls = 0;
    await expect(ok()).rejects.toBeInstanceOf(CircuitOpenError);
    time += 10 * OPEN_MS;
    await expect(ok()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(calls).toBe(0);
    probeAnswer.resolve('back');
    await expect(probe).resolves.toBe('back');
    expect(probes).toBe(1);
  });

  it('closes when the probe succeeds: calls go through again, and it takes a full run of failures to open it again', async () => {
    await failTimes(THRESHOLD);
    time += OPEN_MS;
    await ok();
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    await expect(ok()).resolves.toBe('ok');
    await failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed');
  });

  it('opens again for another openMs when the probe fails, counted from the probe', async () => {
    await failTimes(THRESHOLD);
    time += 5 * OPEN_MS;
    await fail();
    expect(breaker.state).toBe('open');
    time += OPEN_MS - 1;
    await expect(ok()).rejects.toBeInstanceOf(CircuitOpenError);
    time += 1;
    await expect(ok()).resolves.toBe('ok');
    expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('ignores late outcomes of calls admitted before the breaker opened: they neither close it nor keep it open', async () => {
    const slowSuccesses = [deferred<string>(), deferred<string>()] as const;
    const slowFailure = deferred<string>();
    const lateOks = slowSuccesses.map((slow) => breaker.run(() => slow.promise));
    const lateFail = breaker.run(() => slowFailure.promise).catch(() => 'failed');
    await failTimes(THRESHOLD);
    expect(breaker.state).toBe('open');

    slowSuccesses[0].resolve('late');
    await expect(lateOks[0]).resolves.toBe('late'); // its answer still reaches its caller
    expect(breaker.state).toBe('open');

    time += OPEN_MS;
    const probeAnswer = deferred<string>();
    const probe = breaker.run(() => probeAnswer.promise);
    slowSuccesses[1].resolve('late');
    await lateOks[1];
    expect(breaker.state).toBe('half-open'); // only the probe closes it
    probeAnswer.resolve('back');
    await probe;
    expect(states).toEqual(['open', 'half-open', 'closed']);

    slowFailure.reject(new Error('late timeout'));
    await expect(lateFail).resolves.toBe('failed');
    await failTimes(THRESHOLD - 1);
    expect(breaker.state).toBe('closed'); // the late failure did not count toward the new run
  });

  it('refuses nonsense settings', () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0, openMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1.5, openMs: 1 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ failureThreshold: 1, openMs: Number.NaN })).toThrow(RangeError);
  });
});

/**
 * Any interleaving of calls starting and settling, and time passing, checked
 * against what the breaker promises: no call is made while open before
 * openMs have passed, none besides the probe while half-open; it opens
 * exactly when a run of failureThreshold failures of calls admitted while
 * closed ends (or a probe fails), closes exactly when a probe succeeds, and
 * a call admitted in an earlier state changes nothing when it settles.
 */
describe('CircuitBreaker under any interleaving', () => {
  type Step = { kind: 'start' } | { kind: 'settle'; pick: number; ok: boolean } | { kind: 'wait'; ms: number };
  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant<Step>({ kind: 'start' }),
    fc.record({ kind: fc.constant('settle' as const), pick: fc.nat(), ok: fc.boolean() }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 2 * OPEN_MS }) }),
  );
  interface Call {
    readonly answer: Deferred<string>;
    readonly settled: Promise<unknown>;
    /** How many state changes had happened when it was let through: its period. */
    readonly period: number;
    readonly admittedIn: BreakerState;
  }

  it('keeps its promises', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(step, { maxLength: 80 }), async (threshold, steps) => {
        let time = 0;
        const states: BreakerState[] = [];
        const breaker = new CircuitBreaker({ failureThreshold: threshold, openMs: OPEN_MS, now: () => time, onStateChange: (s) => states.push(s) });
        const inFlight: Call[] = [];
        let openedAt = Number.NaN;
        let run = 0; // failures in a row, in the current closed period
        for (const s of steps) {
          const before = breaker.state;
          const changesBefore = states.length;
          if (s.kind === 'wait') time += s.ms;
          if (s.kind === 'start') {
            const answer = deferred<string>();
            let made = false;
            const running = breaker.run(() => {
              made = true;
              return answer.promise;
            });
            const settled = running.catch((error: unknown) => error);
            if (before === 'half-open') expect(made).toBe(false);
            if (before === 'open') expect(made).toBe(time - openedAt >= OPEN_MS);
            if (made) inFlight.push({ answer, settled, period: states.length, admittedIn: breaker.state });
            else expect(await settled).toBeInstanceOf(CircuitOpenError);
          }
          if (s.kind === 'settle' && inFlight.length > 0) {
            const [call] = inFlight.splice(s.pick % inFlight.length, 1) as [Call];
            if (s.ok) call.answer.resolve('v');
            else call.answer.reject(new Error('down'));
            await call.settled;
            const current = call.period === changesBefore;
            if (!current) expect(states.length).toBe(changesBefore);
            if (current && call.admittedIn === 'half-open') expect(breaker.state).toBe(s.ok ? 'closed' : 'open');
            if (current && call.admittedIn === 'closed') {
              run = s.ok ? 0 : run + 1;
              expect(breaker.state).toBe(run >= threshold ? 'open' : 'closed');
            }
          }
          if (states.length !== changesBefore) run = 0;
          if (states.slice(changesBefore).includes('open')) openedAt = time;
        }
      }),
      { numRuns: 500 },
    );
  });
});
