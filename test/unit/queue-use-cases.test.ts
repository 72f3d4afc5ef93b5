import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { TokenInvalidError, TokenNotActiveError, TokenRequiredError, ValidationError } from '../../core/domain/errors.js';
import { AdmissionRate } from '../../core/usecases/queue/admission-rate.js';
import { GetTokenStatus } from '../../core/usecases/queue/get-token-status.js';
import { ManualClock } from '../support/manual-clock.js';
import { queueUseCases } from '../support/queue-use-cases.js';

const SETTINGS = { activeMax: 2, admitIntervalMs: 1_000, activeTtlMs: 60_000 };

describe('queue use cases', () => {
  let clock: ManualClock;
  let uc: ReturnType<typeof queueUseCases>;
  beforeEach(() => {
    clock = new ManualClock();
    uc = queueUseCases(clock, { settings: SETTINGS });
  });
  const arrive = (userId: string) => uc.issueToken.execute({ userId });

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
  });

  describe('GetTokenStatus', () => {
    it('answers TOKEN_REQUIRED without a token, TOKEN_INVALID for a malformed or unknown one', async () => {
      await expect(uc.getTokenStatus.execute(undefined)).rejects.toBeInstanceOf(TokenRequiredError);
      await expect(uc.getTokenStatus.execute('')).rejects.toBeInstanceOf(TokenRequiredError);
      await expect(uc.getTokenStatus.execute('short')).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(uc.getTokenStatus.execute('a'.repeat(22))).rejects.toBeInstanceOf(TokenInvalidError);
    });

    it('answers WAITING with position and ETA, then ACTIVE with expiry, then TOKEN_INVALID once expired', async () => {
      const first = await arrive('u1');
      const others = await Promise.all(['u2', 'u3', 'u4', 'u5'].map(arrive));
      // No rate measured yet: the most a round may admit (2) per interval → position 5 waits 3 rounds.
      await expect(uc.getTokenStatus.execute(others[3]?.token)).resolves.toEqual({ status: 'WAITING', position: 5, etaSeconds: 3 });
      await uc.admitWaiters.execute();
      await expect(uc.getTokenStatus.execute(first.token)).resolves.toEqual({ status: 'ACTIVE', expiresAt: new Date(clock.now().getTime() + 60_000) });
      clock.advance(60_000);
      await expect(uc.getTokenStatus.execute(first.token)).rejects.toBeInstanceOf(TokenInvalidError);
    });

    it('takes the ETA from the measured rate while the line is backlogged, never below the guaranteed one', async () => {
      const queue = new MemoryQueue();
      const rate = new AdmissionRate();
      const status = new GetTokenStatus(queue, clock, rate, { activeMax: 100, admitIntervalMs: 1_000, activeTtlMs: 100_000 });
      let last = '';
      for (let i = 1; i <= 250; i++) last = (await queue.issue(`u${i}`, `token-${String(i).padStart(12, '0')}`, clock.now())).token;
      const eta = async () => ((await status.execute(last)) as { etaSeconds: number }).etaSeconds;
      expect(await eta()).toBe(3); // 100 per interval until a rate is measured
      // 10 per second admitted over 3 backlogged seconds.
      for (let s = 0; s <= 3; s++) rate.record({ admitted: 10, expired: 0, waiting: 500, admittedTotal: 10 * s }, new Date(s * 1_000));
      expect(await eta()).toBe(25);
      // Nobody admitted for a while: every ACTIVE token ends within its TTL, so at least 100 per 100 s still get in.
      for (let s = 4; s <= 40; s++) rate.record({ admitted: 0, expired: 0, waiting: 500, admittedTotal: 30 }, new Date(s * 1_000));
      expect(await eta()).toBe(250);
    });
  });

  describe('AdmissionRate', () => {
    const round = (admittedTotal: number, waiting: number) => ({ admitted: 0, expired: 0, waiting, admittedTotal });

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

  describe('RequireActiveToken', () => {
    it('answers the user of an ACTIVE token', async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      await expect(uc.requireActiveToken.execute(token)).resolves.toEqual({
        token,
        userId: 'buyer',
        expiresAt: new Date(clock.now().getTime() + 60_000),
      });
    });

    it('refuses a missing, malformed, unknown, WAITING, expired or spent token with its code', async () => {
      await expect(uc.requireActiveToken.execute(undefined)).rejects.toMatchObject({ code: 'TOKEN_REQUIRED' });
      await expect(uc.requireActiveToken.execute('not a token')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.requireActiveToken.execute('A'.repeat(22))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      const [active, spent] = await Promise.all([arrive('u1'), arrive('u2')]);
      const waiting = await arrive('u3');
      const refusal = uc.requireActiveToken.execute(waiting.token);
      await expect(refusal).rejects.toBeInstanceOf(TokenNotActiveError);
      await expect(refusal).rejects.toMatchObject({ code: 'TOKEN_NOT_ACTIVE', position: 3 });
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(spent!.token);
      await expect(uc.requireActiveToken.execute(spent!.token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      clock.advance(59_999);
      await expect(uc.requireActiveToken.execute(active!.token)).resolves.toMatchObject({ userId: 'u1' });
      clock.advance(1);
      await expect(uc.requireActiveToken.execute(active!.token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    });
  });

  describe('RequireActiveToken.executeForPayment', () => {
    it('lets an ACTIVE token through, marked not spent, with or without a key', async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      const expected = { token, userId: 'buyer', expiresAt: new Date(clock.now().getTime() + 60_000), spent: false };
      await expect(uc.requireActiveToken.executeForPayment(token, undefined)).resolves.toEqual(expected);
      await expect(uc.requireActiveToken.executeForPayment(token, 'k1')).resolves.toEqual(expected);
    });

    it('lets a spent token through only with an Idempotency-Key, marked spent, until its own expiry', async () => {
      const { token } = await arrive('buyer');
      await uc.admitWaiters.execute();
      clock.advance(1_000);
      await uc.expireToken.execute(token);
      await expect(uc.requireActiveToken.executeForPayment(token, 'k1')).resolves.toEqual({ token, userId: 'buyer', spent: true });
      await expect(uc.requireActiveToken.executeForPayment(token, undefined)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.requireActiveToken.execute(token)).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      clock.advance(58_999);
      await expect(uc.requireActiveToken.executeForPayment(token, 'k1')).resolves.toMatchObject({ spent: true });
      clock.advance(1);
      await expect(uc.requireActiveToken.executeForPayment(token, 'k1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    });

    it('refuses missing, malformed, unknown and WAITING tokens as execute does, key or not', async () => {
      await expect(uc.requireActiveToken.executeForPayment(undefined, 'k1')).rejects.toMatchObject({ code: 'TOKEN_REQUIRED' });
      await expect(uc.requireActiveToken.executeForPayment('not a token', 'k1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await expect(uc.requireActiveToken.executeForPayment('A'.repeat(22), 'k1')).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
      await Promise.all([arrive('u1'), arrive('u2')]);
      const waiting = await arrive('u3');
      await uc.admitWaiters.execute();
      await expect(uc.requireActiveToken.executeForPayment(waiting.token, 'k1')).rejects.toMatchObject({ code: 'TOKEN_NOT_ACTIVE', position: 1 });
    });
  });

  describe('a spent token', () => {
    it('reads TOKEN_INVALID in its status, frees its slot and lets its user take a new token', async () => {
      const [first] = await Promise.all([arrive('u1'), arrive('u2'), arrive('u3')]);
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(first!.token);
      await expect(uc.getTokenStatus.execute(first!.token)).rejects.toBeInstanceOf(TokenInvalidError);
      await expect(uc.queue.counts(clock.now())).resolves.toEqual({ waiting: 1, active: 1 });
      const again = await arrive('u1');
      expect(again).toMatchObject({ created: true, state: { status: 'WAITING', userId: 'u1', position: 2 } });
      expect(again.token).not.toBe(first!.token);
    });
  });

  describe('ExpireToken', () => {
    it('frees the slot for the next round, and ignores what is not a token', async () => {
      const [first, second] = await Promise.all([arrive('u1'), arrive('u2'), arrive('u3')]);
      await uc.admitWaiters.execute();
      await uc.expireToken.execute(first!.token);
      await uc.expireToken.execute(first!.token);
      await uc.expireToken.execute('../../etc');
      await expect(uc.admitWaiters.execute()).resolves.toMatchObject({ admitted: 1, waiting: 0 });
      await expect(uc.queue.counts(clock.now())).resolves.toEqual({ waiting: 0, active: 2 });
      await expect(uc.getTokenStatus.execute(second!.token)).resolves.toMatchObject({ status: 'ACTIVE' });
    });
  });
});
