import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { NotFoundError, TokenInvalidError, TokenNotActiveError, ValidationError } from '../../core/domain/errors.js';
import type { AdmissionResult } from '../../core/domain/queue.js';
import { AdmissionRate } from '../../core/usecases/queue/admission-rate.js';
import { GetCurrentToken } from '../../core/usecases/queue/get-current-token.js';
import { IssueToken } from '../../core/usecases/queue/issue-token.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';

const SETTINGS = { activeMax: 2, admitIntervalMs: 1_000, activeTtlMs: 60_000, presenceTimeoutMs: 120_000 };

describe('queue use cases', () => {
  let clock: ManualClock;
  let uc: ReturnType<typeof queueUseCases>;
  beforeEach(() => {
    clock = new ManualClock();
    uc = queueUseCases(clock, { settings: SETTINGS });
  });
  const arrive = async (userId: string) => (await uc.issueToken.execute({ userId })).view;
  const later = (ms: number) => new Date(clock.now().getTime() + ms);

  describe('IssueToken', () => {
    it('issues an unguessable token: 128 random bits, base64url', async () => {
      // More than one batch of the generator's pool.
      const issued = await Promise.all(Array.from({ length: 600 }, (_, i) => arrive(`u${i}`)));
      for (const { token } of issued) expect(token).toMatch(/^[A-Za-z0-9_-]{22}$/);
      expect(new Set(issued.map((t) => t.token)).size).toBe(600);
    });

    it.each(['', 'has space', 'x'.repeat(65)])('refuses the user id %j and queues nobody', async (userId) => {
      await expect(arrive(userId)).rejects.toBeInstanceOf(ValidationError);
      await expect(uc.queue.counts(clock.now())).resolves.toEqual({ waiting: 0, active: 0 });
    });

    it('answers a new WAITING token with its ETA, the same token again (created: false), then the ACTIVE view', async () => {
      await arrive('u1');
      await arrive('u2');
      const first = await uc.issueToken.execute({ userId: 'u3' });
      expect(first).toEqual({ created: true, view: { token: first.view.token, status: 'WAITING', position: 3, etaSeconds: 2 } });
      await expect(uc.issueToken.execute({ userId: 'u3' })).resolves.toEqual({ ...first, created: false });
      await uc.admitWaiters.execute();
      await expect(uc.issueToken.execute({ userId: 'u1' })).resolves.toMatchObject({
        created: false,
        view: { status: 'ACTIVE', expiresAt: later(60_000) },
      });
    });
  });

  describe('GetCurrentToken', () => {
    it('answers NOT_FOUND to a user with no live token', async () => {
      const refusal = uc.getCurrentToken.execute('nobody');
      await expect(refusal).rejects.toBeInstanceOf(NotFoundError);
      await expect(refusal).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'you have no live queue token' });
    });

    it("answers the caller's token: WAITING with position and ETA, then ACTIVE with expiry, then NOT_FOUND once expired", async () => {
      const first = await arrive('u1');
      const others = await Promise.all(['u2', 'u3', 'u4', 'u5'].map(arrive));
      // No rate measured yet: the most a round may admit (2) per interval → position 5 waits 3 rounds.
      await expect(uc.getCurrentToken.execute('u5')).resolves.toEqual({ token: others[3]?.token, status: 'WAITING', position: 5, etaSeconds: 3 });
      await uc.admitWaiters.execute();
      await expect(uc.getCurrentToken.execute('u1')).resolves.toEqual({ token: first.token, status: 'ACTIVE', expiresAt: later(60_000) });
      clock.advance(60_000);
      await expect(uc.getCurrentToken.execute('u1')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('answers NOT_FOUND once the token is spent', async () => {
      const { token } = await arrive('u1');
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(token);
      await expect(uc.getCurrentToken.execute('u1')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('keeps a waiter who keeps asking in line; one who stops is dropped by the next round past the timeout', async () => {
      await Promise.all(['u1', 'u2', 'u3', 'u4'].map(arrive));
      await uc.admitWaiters.execute();
      clock.advance(100_000);
      await uc.getCurrentToken.execute('u4');
      clock.advance(20_000);
      // u3 has been silent for 120 s exactly, u4 asked 20 s ago: of the slots the expiries freed, u4 takes one, though u3 came first.
      await expect(uc.admitWaiters.execute()).resolves.toMatchObject({ admitted: 1, expired: 2, dropped: 1, waiting: 0 });
      await expect(uc.getCurrentToken.execute('u3')).rejects.toBeInstanceOf(NotFoundError);
      await expect(uc.getCurrentToken.execute('u4')).resolves.toMatchObject({ status: 'ACTIVE' });
      // Dropped, not banned: a new token, at the end of the line.
      await expect(uc.issueToken.execute({ userId: 'u3' })).resolves.toMatchObject({ created: true, view: { status: 'WAITING', position: 1 } });
    });

    it('counts asking again through IssueToken as presence too', async () => {
      await Promise.all(['u1', 'u2'].map(arrive));
      clock.advance(119_999);
      await arrive('u2');
      clock.advance(1);
      await expect(uc.admitWaiters.execute()).resolves.toMatchObject({ admitted: 1, dropped: 1 });
      await expect(uc.getCurrentToken.execute('u2')).resolves.toMatchObject({ status: 'ACTIVE' });
    });
  });

  describe('ETA', () => {
    /** 250 waiters, straight on the queue, and the two views of the last one. */
    async function lineOf250(settings = { activeMax: 100, admitIntervalMs: 1_000, activeTtlMs: 100_000, presenceTimeoutMs: 1_000_000 }) {
      const queue = new MemoryQueue();
      const rate = new AdmissionRate();
      for (let i = 1; i <= 250; i++) await queue.issue(`u${i}`, `token-${String(i).padStart(12, '0')}`, clock.now());
      const current = new GetCurrentToken(queue, clock, rate, settings);
      const issue = new IssueToken(queue, { next: () => 'token-never-used-0001' }, clock, rate, settings);
      const etas = async () => {
        const viaCurrent = await current.execute('u250');
        const viaIssue = (await issue.execute({ userId: 'u250' })).view;
        if (viaCurrent.status !== 'WAITING' || viaIssue.status !== 'WAITING') throw new Error('u250 should be waiting');
        return [viaCurrent.etaSeconds, viaIssue.etaSeconds];
      };
      return { rate, etas };
    }
    const round = (admittedTotal: number, dropped = 0): AdmissionResult => ({ admitted: 0, expired: 0, dropped, waiting: 500, admittedTotal });

    it('takes the ETA from the measured rate while the line is backlogged, never below the guaranteed one; the same through both views', async () => {
      const { rate, etas } = await lineOf250();
      expect(await etas()).toEqual([3, 3]); // 100 per interval until a rate is measured
      // 10 per second admitted over 3 backlogged seconds.
      for (let s = 0; s <= 3; s++) rate.record(round(10 * s), new Date(s * 1_000));
      expect(await etas()).toEqual([25, 25]);
      // Nobody admitted for a while: every ACTIVE token ends within its TTL, so at least 100 per 100 s still get in.
      for (let s = 4; s <= 40; s++) rate.record(round(30), new Date(s * 1_000));
      expect(await etas()).toEqual([250, 250]);
    });

    it('does not count waiters dropped for absence as the line moving', async () => {
      const { rate, etas } = await lineOf250();
      // 10 admitted and 90 dropped per second: the line moves for the present at 10 per second.
      for (let s = 0; s <= 3; s++) rate.record(round(10 * s, 90), new Date(s * 1_000));
      expect(await etas()).toEqual([25, 25]);
    });
  });

  describe('AdmissionRate', () => {
    const round = (admittedTotal: number, waiting: number) => ({ admitted: 0, expired: 0, dropped: 0, waiting, admittedTotal });

    it('knows no rate before two rounds, and none from rounds that left nobody waiting', () => {
      const rate = new AdmissionRate();
      expect(rate.perInterval(1_000)).toBeUndefined();
      rate.record(round(0, 0), new Date(0));
      rate.record(round(5, 0), new Date(1_000));
      expect(rate.perInterval(1_000)).toBeUndefined();
    });

    it('averages admissions per interval over the backlogged spans of its window only', () => {
      const rate = new AdmissionRate(3);
      rate.record(round(0, 9), new Date(0));
      rate.record(round(1_000, 9), new Date(1_000)); // falls out of the window
      rate.record(round(1_004, 9), new Date(2_000));
      rate.record(round(1_004, 0), new Date(3_000)); // not backlogged: ignored
      rate.record(round(1_010, 9), new Date(5_000));
      expect(rate.perInterval(1_000)).toBeCloseTo((4 + 6) / 3);
      expect(rate.perInterval(500)).toBeCloseTo((4 + 6) / 6);
    });
  });

  describe('AdmitWaiters', () => {
    it('applies the limit, the TTL and the presence timeout of its settings', async () => {
      uc = queueUseCases(clock, { settings: { ...SETTINGS, activeMax: 1, presenceTimeoutMs: 5_000 } });
      await Promise.all(['u1', 'u2', 'u3'].map(arrive));
      clock.advance(4_999);
      await arrive('u3');
      clock.advance(1);
      await expect(uc.admitWaiters.execute()).resolves.toEqual({ admitted: 1, expired: 0, dropped: 2, waiting: 0, admittedTotal: 1 });
      await expect(uc.getCurrentToken.execute('u3')).resolves.toMatchObject({ status: 'ACTIVE', expiresAt: later(60_000) });
    });
  });

  describe('LeaveQueue', () => {
    it('takes a waiter out of the line: the ones behind move up, and the user may queue again', async () => {
      await Promise.all(['u1', 'u2', 'u3'].map(arrive));
      await uc.leaveQueue.execute('u2');
      await expect(uc.getCurrentToken.execute('u2')).rejects.toBeInstanceOf(NotFoundError);
      await expect(uc.getCurrentToken.execute('u3')).resolves.toMatchObject({ status: 'WAITING', position: 2 });
      await expect(uc.issueToken.execute({ userId: 'u2' })).resolves.toMatchObject({ created: true, view: { position: 3 } });
    });

    it('gives an ACTIVE slot back for the very next round; the token is refused from then on', async () => {
      const [first] = await Promise.all(['u1', 'u2', 'u3'].map(arrive));
      await uc.admitWaiters.execute();
      await uc.leaveQueue.execute('u1');
      await expect(uc.requireActiveToken.execute(first?.token, 'u1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.admitWaiters.execute()).resolves.toMatchObject({ admitted: 1, waiting: 0 });
      await expect(uc.getCurrentToken.execute('u3')).resolves.toMatchObject({ status: 'ACTIVE' });
    });

    it('answers NOT_FOUND when the caller has no live token, and changes nothing', async () => {
      await arrive('u1');
      const refusal = uc.leaveQueue.execute('nobody');
      await expect(refusal).rejects.toBeInstanceOf(NotFoundError);
      await expect(refusal).rejects.toMatchObject({ code: 'NOT_FOUND' });
      await uc.leaveQueue.execute('u1');
      await expect(uc.leaveQueue.execute('u1')).rejects.toBeInstanceOf(NotFoundError);
    });
  });

  describe('RequireActiveToken', () => {
    it("answers the caller's own ACTIVE token", async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      await expect(uc.requireActiveToken.execute(token, 'buyer')).resolves.toEqual({ token, userId: 'buyer', expiresAt: later(60_000) });
    });

    it('refuses a missing, malformed, unknown, WAITING, expired or spent token with its code', async () => {
      await expect(uc.requireActiveToken.execute(undefined, 'u1')).rejects.toMatchObject({ code: 'TOKEN_REQUIRED' });
      await expect(uc.requireActiveToken.execute('not a token', 'u1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.requireActiveToken.execute('A'.repeat(22), 'u1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      const [active, spent] = await Promise.all([arrive('u1'), arrive('u2')]);
      const waiting = await arrive('u3');
      const refusal = uc.requireActiveToken.execute(waiting.token, 'u3');
      await expect(refusal).rejects.toBeInstanceOf(TokenNotActiveError);
      await expect(refusal).rejects.toMatchObject({ code: 'TOKEN_NOT_ACTIVE', position: 3 });
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(spent!.token);
      await expect(uc.requireActiveToken.execute(spent!.token, 'u2')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      clock.advance(59_999);
      await expect(uc.requireActiveToken.execute(active!.token, 'u1')).resolves.toMatchObject({ userId: 'u1' });
      clock.advance(1);
      await expect(uc.requireActiveToken.execute(active!.token, 'u1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    });

    it("refuses another user's token, ACTIVE or WAITING, exactly as an unknown one: nothing about it is told", async () => {
      const [active] = await Promise.all([arrive('u1'), arrive('u2')]);
      const waiting = await arrive('u3');
      await uc.admitWaiters.execute();
      const unknown = await uc.requireActiveToken.execute('A'.repeat(22), 'thief').catch((error: unknown) => error);
      expect(unknown).toBeInstanceOf(TokenInvalidError);
      for (const token of [active.token, waiting.token]) {
        const refusal = await uc.requireActiveToken.execute(token, 'thief').catch((error: unknown) => error);
        expect(refusal).toBeInstanceOf(TokenInvalidError);
        expect(refusal).toEqual(unknown);
        expect((refusal as Error).message).toBe((unknown as Error).message);
      }
    });
  });

  describe('RequireActiveToken.executeForPayment', () => {
    it("lets the caller's ACTIVE token through, marked not spent, with or without a key", async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      const expected = { token, userId: 'buyer', expiresAt: later(60_000), spent: false };
      await expect(uc.requireActiveToken.executeForPayment(token, 'buyer', undefined)).resolves.toEqual(expected);
      await expect(uc.requireActiveToken.executeForPayment(token, 'buyer', 'k1')).resolves.toEqual(expected);
    });

    it("lets the caller's spent token through only with an Idempotency-Key, marked spent, until its own expiry", async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      clock.advance(1_000);
      await uc.expireToken.execute(token);
      await expect(uc.requireActiveToken.executeForPayment(token, 'buyer', 'k1')).resolves.toEqual({ token, userId: 'buyer', spent: true });
      await expect(uc.requireActiveToken.executeForPayment(token, 'buyer', undefined)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.requireActiveToken.execute(token, 'buyer')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      clock.advance(58_999);
      await expect(uc.requireActiveToken.executeForPayment(token, 'buyer', 'k1')).resolves.toMatchObject({ spent: true });
      clock.advance(1);
      await expect(uc.requireActiveToken.executeForPayment(token, 'buyer', 'k1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    });

    it("refuses another user's token, ACTIVE or spent, key or not, as TOKEN_INVALID", async () => {
      const [active, spent] = await Promise.all([arrive('u1'), arrive('u2')]);
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(spent.token);
      for (const token of [active.token, spent.token]) {
        for (const key of ['k1', undefined]) {
          await expect(uc.requireActiveToken.executeForPayment(token, 'thief', key)).rejects.toBeInstanceOf(TokenInvalidError);
        }
      }
    });

    it('refuses missing, malformed, unknown and WAITING tokens as execute does, key or not', async () => {
      await expect(uc.requireActiveToken.executeForPayment(undefined, 'u1', 'k1')).rejects.toMatchObject({ code: 'TOKEN_REQUIRED' });
      await expect(uc.requireActiveToken.executeForPayment('not a token', 'u1', 'k1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.requireActiveToken.executeForPayment('A'.repeat(22), 'u1', 'k1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await Promise.all([arrive('u1'), arrive('u2')]);
      const waiting = await arrive('u3');
      await uc.admitWaiters.execute();
      await expect(uc.requireActiveToken.executeForPayment(waiting.token, 'u3', 'k1')).rejects.toMatchObject({ code: 'TOKEN_NOT_ACTIVE', position: 1 });
    });
  });

  describe('ExtendToken', () => {
    it('keeps an ACTIVE token alive until a later hold ends, and answers false once it is not ACTIVE', async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      await expect(uc.extendToken.execute(token, later(90_000))).resolves.toBe(true);
      clock.advance(89_999);
      await expect(uc.requireActiveToken.execute(token, 'buyer')).resolves.toMatchObject({ expiresAt: later(1) });
      clock.advance(1);
      await expect(uc.extendToken.execute(token, later(10_000))).resolves.toBe(false);
    });
  });

  describe('a spent token', () => {
    it('is no live token of its user, frees its slot and lets its user take a new token', async () => {
      const [first] = await Promise.all([arrive('u1'), arrive('u2'), arrive('u3')]);
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(first!.token);
      await expect(uc.getCurrentToken.execute('u1')).rejects.toBeInstanceOf(NotFoundError);
      await expect(uc.queue.counts(clock.now())).resolves.toEqual({ waiting: 1, active: 1 });
      const again = await uc.issueToken.execute({ userId: 'u1' });
      expect(again).toMatchObject({ created: true, view: { status: 'WAITING', position: 2 } });
      expect(again.view.token).not.toBe(first!.token);
    });
  });

  describe('ExpireToken', () => {
    it('frees the slot for the next round, and ignores what is not a token', async () => {
      const [first] = await Promise.all([arrive('u1'), arrive('u2'), arrive('u3')]);
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(first!.token);
      await uc.expireToken.execute(first!.token);
      await uc.expireToken.execute('../../etc');
      await expect(uc.admitWaiters.execute()).resolves.toMatchObject({ admitted: 1, waiting: 0 });
      await expect(uc.queue.counts(clock.now())).resolves.toEqual({ waiting: 0, active: 2 });
      await expect(uc.getCurrentToken.execute('u2')).resolves.toMatchObject({ status: 'ACTIVE' });
    });
  });
});
