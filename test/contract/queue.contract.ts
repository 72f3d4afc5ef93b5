import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import type { AdmissionRules, IssuedToken } from '../../core/domain/queue.js';
import type { QueuePort } from '../../core/ports/queue.port.js';

export interface QueueFixture {
  readonly queue: QueuePort;
  /** Where the store still keeps anything of this token of this user: [] once it is forgotten. */
  remnants(token: string, userId: string): Promise<string[]>;
  cleanup(): Promise<void>;
}

const TTL = 60_000;
/** The presence timeout of the tests about presence; the others use one long enough never to matter. */
const PRESENCE = 30_000;
const rules = (activeMax: number, presenceTimeoutMs = 10 * TTL): AdmissionRules => ({ activeMax, activeTtlMs: TTL, presenceTimeoutMs });
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const tokens = new RandomTokenGenerator();

/** What every QueuePort promises; run against each adapter. Time is passed in, so nothing here sleeps. */
export function describeQueueContract(name: string, createFixture: () => Promise<QueueFixture>): void {
  describe(`QueuePort contract: ${name}`, () => {
    let fixture: QueueFixture;
    let queue: QueuePort;
    beforeEach(async () => {
      fixture = await createFixture();
      queue = fixture.queue;
    });
    afterEach(async () => fixture.cleanup());

    const issue = (userId: string, now = t0) => queue.issue(userId, tokens.next(), now);
    /** Users u1..un in line, one after another, in that order. */
    async function line(n: number, now = t0): Promise<string[]> {
      const issued: string[] = [];
      for (let i = 1; i <= n; i++) issued.push((await issue(`u${i}`, now)).token);
      return issued;
    }
    const positions = (list: readonly string[], now = t0) =>
      Promise.all(list.map(async (token) => {
        const state = await queue.status(token, now);
        return state?.status === 'WAITING' ? state.position : state?.status;
      }));

    it('queues new users in arrival order: a new WAITING token each, at the end of the line', async () => {
      const candidate = tokens.next();
      await expect(queue.issue('u1', candidate, t0)).resolves.toEqual({
        token: candidate,
        created: true,
        state: { status: 'WAITING', userId: 'u1', position: 1 },
      });
      const second = await issue('u2');
      expect(second).toMatchObject({ created: true, state: { status: 'WAITING', userId: 'u2', position: 2 } });
      expect(second.token).not.toBe(candidate);
      await expect(queue.status(candidate, t0)).resolves.toEqual({ status: 'WAITING', userId: 'u1', position: 1 });
      await expect(queue.status(second.token, t0)).resolves.toEqual({ status: 'WAITING', userId: 'u2', position: 2 });
    });

    it('gives a user with a live token that same token (created: false) and drops the candidate', async () => {
      const first = await issue('u1');
      await issue('u2');
      const dropped = tokens.next();
      await expect(queue.issue('u1', dropped, at(5_000))).resolves.toEqual({ ...first, created: false });
      await expect(queue.status(dropped, t0)).resolves.toBeUndefined();
      await expect(queue.counts(t0)).resolves.toEqual({ waiting: 2, active: 0 });
    });

    it('answers one token to concurrent requests of one user', async () => {
      const answers = await Promise.all(Array.from({ length: 10 }, () => issue('racer')));
      expect(new Set(answers.map((a) => a.token)).size).toBe(1);
      expect(answers.filter((a) => a.created)).toHaveLength(1);
      await expect(queue.counts(t0)).resolves.toEqual({ waiting: 1, active: 0 });
    });

    it('knows nothing of a token it never issued', async () => {
      await issue('u1');
      await expect(queue.status(tokens.next(), t0)).resolves.toBeUndefined();
    });

    it('admits the oldest waiters first, up to the limit, each ACTIVE until now + ttl; the rest move up', async () => {
      const [t1, t2, t3, t4, t5] = (await line(5)) as [string, string, string, string, string];
      await expect(queue.admit(at(1_000), rules(2))).resolves.toEqual({ admitted: 2, expired: 0, dropped: 0, waiting: 3, admittedTotal: 2 });
      await expect(queue.status(t1, at(1_000))).resolves.toEqual({ status: 'ACTIVE', userId: 'u1', expiresAt: at(1_000 + TTL) });
      await expect(queue.status(t2, at(1_000))).resolves.toEqual({ status: 'ACTIVE', userId: 'u2', expiresAt: at(1_000 + TTL) });
      expect(await positions([t3, t4, t5])).toEqual([1, 2, 3]);
      await expect(queue.counts(at(1_000))).resolves.toEqual({ waiting: 3, active: 2 });
    });

    it('never passes the limit: while every slot is taken, a round admits nobody', async () => {
      const issued = await line(4);
      await queue.admit(t0, rules(3));
      await expect(queue.admit(at(1), rules(3))).resolves.toMatchObject({ admitted: 0, expired: 0, waiting: 1, admittedTotal: 3 });
      expect(await positions(issued, at(1))).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', 1]);
    });

    it('counts positions down as the line moves: admissions and waiters leaving', async () => {
      const issued = await line(6);
      expect(await positions(issued)).toEqual([1, 2, 3, 4, 5, 6]);
      await queue.admit(t0, rules(1));
      expect(await positions(issued)).toEqual(['ACTIVE', 1, 2, 3, 4, 5]);
      await expect(queue.expire(issued[3] as string, t0)).resolves.toBe(true);
      expect(await positions(issued)).toEqual(['ACTIVE', 1, 2, undefined, 3, 4]);
      await queue.admit(t0, rules(3));
      expect(await positions(issued)).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE', undefined, 1, 2]);
    });

    it('ends an ACTIVE token exactly at its expiry; the next round drops it and admits the next waiter', async () => {
      const [t1, t2] = (await line(2)) as [string, string];
      await queue.admit(t0, rules(1));
      await expect(queue.status(t1, at(TTL - 1))).resolves.toMatchObject({ status: 'ACTIVE' });
      await expect(queue.status(t1, at(TTL))).resolves.toBeUndefined();
      await expect(queue.counts(at(TTL))).resolves.toEqual({ waiting: 1, active: 0 });
      await expect(queue.admit(at(TTL - 1), rules(1))).resolves.toMatchObject({ admitted: 0, expired: 0 });
      await expect(queue.admit(at(TTL), rules(1))).resolves.toEqual({ admitted: 1, expired: 1, dropped: 0, waiting: 0, admittedTotal: 2 });
      await expect(queue.status(t2, at(TTL))).resolves.toEqual({ status: 'ACTIVE', userId: 'u2', expiresAt: at(2 * TTL) });
      await expect(queue.status(t1, t0)).resolves.toBeUndefined();
    });

    it('answers an ACTIVE user their ACTIVE token; once it has expired, a new token at the end of the line', async () => {
      const [t1] = (await line(2)) as [string];
      await queue.admit(t0, rules(1));
      await expect(issue('u1', at(10))).resolves.toEqual({
        token: t1,
        created: false,
        state: { status: 'ACTIVE', userId: 'u1', expiresAt: at(TTL) },
      });
      // Expired, and no round has dropped it yet: the user still gets a fresh place.
      const again: IssuedToken = await issue('u1', at(TTL));
      expect(again).toMatchObject({ created: true, state: { status: 'WAITING', userId: 'u1', position: 2 } });
      expect(again.token).not.toBe(t1);
      await expect(queue.admit(at(TTL), rules(1))).resolves.toMatchObject({ admitted: 1, waiting: 1 });
      await expect(queue.status(again.token, at(TTL))).resolves.toMatchObject({ status: 'WAITING', position: 1 });
    });

    it('expire ends a token at once: its slot goes to the next waiter, its user may queue again; twice is fine', async () => {
      const [t1, t2] = (await line(2)) as [string, string];
      await queue.admit(t0, rules(1));
      await expect(queue.expire(t1, t0)).resolves.toBe(true);
      await expect(queue.expire(t1, t0)).resolves.toBe(false);
      await expect(queue.expire(tokens.next(), t0)).resolves.toBe(false);
      await expect(queue.status(t1, t0)).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await expect(queue.counts(t0)).resolves.toEqual({ waiting: 1, active: 0 });
      await expect(queue.admit(t0, rules(1))).resolves.toMatchObject({ admitted: 1, expired: 0 });
      await expect(queue.status(t2, t0)).resolves.toMatchObject({ status: 'ACTIVE' });
      await expect(issue('u1')).resolves.toMatchObject({ created: true, state: { status: 'WAITING', position: 1 } });
    });

    it('spends an ACTIVE token: SPENT with its user until its own expiry, then unknown; never live again', async () => {
      const [t1, t2, t3] = (await line(3)) as [string, string, string];
      await queue.admit(t0, rules(1));
      await expect(queue.expire(t1, at(1_000))).resolves.toBe(true);
      await expect(queue.status(t1, at(1_000))).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      // Its slot is free at once, and rounds never make it ACTIVE again.
      await expect(queue.counts(at(1_000))).resolves.toEqual({ waiting: 2, active: 0 });
      await expect(queue.admit(at(1_000), rules(1))).resolves.toEqual({ admitted: 1, expired: 0, dropped: 0, waiting: 1, admittedTotal: 2 });
      await expect(queue.status(t2, at(1_000))).resolves.toMatchObject({ status: 'ACTIVE', userId: 'u2' });
      await expect(queue.admit(at(2_000), rules(3))).resolves.toMatchObject({ admitted: 1, waiting: 0 });
      expect(await positions([t1, t2, t3], at(2_000))).toEqual(['SPENT', 'ACTIVE', 'ACTIVE']);
      // Spending it again changes nothing.
      await expect(queue.expire(t1, at(2_000))).resolves.toBe(false);
      await expect(queue.status(t1, at(TTL - 1))).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await expect(queue.status(t1, at(TTL))).resolves.toBeUndefined();
      await expect(queue.admit(at(TTL), rules(3))).resolves.toMatchObject({ admitted: 0, expired: 0 });
      await expect(queue.status(t1, at(TTL))).resolves.toBeUndefined();
      await expect(queue.expire(t1, at(TTL))).resolves.toBe(false);
    });

    it('lets the user of a SPENT token take a new one at the end of the line; the spent one stays SPENT', async () => {
      const [t1] = (await line(2)) as [string];
      await queue.admit(t0, rules(1));
      await queue.expire(t1, t0);
      const again = await issue('u1', at(10));
      expect(again).toMatchObject({ created: true, state: { status: 'WAITING', userId: 'u1', position: 2 } });
      expect(again.token).not.toBe(t1);
      await expect(issue('u1', at(20))).resolves.toEqual({ ...again, created: false });
      await expect(queue.status(t1, at(20))).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await queue.admit(at(30), rules(2));
      await expect(queue.status(again.token, at(30))).resolves.toEqual({ status: 'ACTIVE', userId: 'u1', expiresAt: at(30 + TTL) });
      await expect(queue.status(t1, at(30))).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      // Spending the new one leaves both SPENT, each until its own expiry.
      await expect(queue.expire(again.token, at(40))).resolves.toBe(true);
      await expect(queue.status(t1, at(TTL))).resolves.toBeUndefined();
      await expect(queue.status(again.token, at(TTL))).resolves.toEqual({ status: 'SPENT', userId: 'u1' });
      await expect(queue.status(again.token, at(30 + TTL))).resolves.toBeUndefined();
    });

    it('forgets a WAITING token it expires, and an ACTIVE one already past its expiry: neither is SPENT', async () => {
      const [t1, t2] = (await line(2)) as [string, string];
      await queue.admit(t0, rules(1));
      await expect(queue.expire(t2, t0)).resolves.toBe(true);
      await expect(queue.status(t2, t0)).resolves.toBeUndefined();
      // Past its expiry, no round has dropped it yet: it was not live, so there is nothing to spend.
      await expect(queue.expire(t1, at(TTL))).resolves.toBe(false);
      await expect(queue.status(t1, at(TTL - 1))).resolves.toBeUndefined();
      await expect(queue.counts(t0)).resolves.toEqual({ waiting: 0, active: 0 });
      await expect(issue('u1', at(TTL))).resolves.toMatchObject({ created: true, state: { status: 'WAITING', position: 1 } });
    });

    it('lets concurrent rounds together admit exactly up to the limit, in arrival order, nobody twice', async () => {
      const issued = await line(12);
      const results = await Promise.all(Array.from({ length: 5 }, () => queue.admit(t0, rules(5))));
      expect(results.reduce((sum, r) => sum + r.admitted, 0)).toBe(5);
      expect(Math.max(...results.map((r) => r.admittedTotal))).toBe(5);
      expect(await positions(issued)).toEqual([...Array<string>(5).fill('ACTIVE'), 1, 2, 3, 4, 5, 6, 7]);
    });

    describe('presence', () => {
      it('drops a waiter silent for the presence timeout (at or before now - timeout): never admitted, nothing left, its user free', async () => {
        const [t1, t2, t3] = (await line(3)) as [string, string, string];
        // Asked since: once through current, once through issue (the same token back).
        await expect(queue.current('u2', at(20_000))).resolves.toEqual({ token: t2, state: { status: 'WAITING', userId: 'u2', position: 2 } });
        await expect(issue('u3', at(25_000))).resolves.toMatchObject({ token: t3, created: false });
        await expect(queue.admit(at(PRESENCE - 1), rules(0, PRESENCE))).resolves.toMatchObject({ dropped: 0, waiting: 3 });
        await expect(queue.admit(at(PRESENCE), rules(1, PRESENCE))).resolves.toEqual({
          admitted: 1,
          expired: 0,
          dropped: 1,
          waiting: 1,
          admittedTotal: 1,
        });
        expect(await positions([t1, t2, t3], at(PRESENCE))).toEqual([undefined, 'ACTIVE', 1]);
        await expect(queue.current('u1', at(PRESENCE))).resolves.toBeUndefined();
        await expect(fixture.remnants(t1, 'u1')).resolves.toEqual([]);
        await expect(queue.expire(t1, at(PRESENCE))).resolves.toBe(false);
        await expect(queue.counts(at(PRESENCE))).resolves.toEqual({ waiting: 1, active: 1 });
        const again = await issue('u1', at(PRESENCE + 1));
        expect(again).toMatchObject({ created: true, state: { status: 'WAITING', userId: 'u1', position: 2 } });
        expect(again.token).not.toBe(t1);
      });

      it('admits the first present waiters in arrival order, past the absent ones, and counts the dropped', async () => {
        const issued = await line(6);
        for (const userId of ['u2', 'u4', 'u5']) await queue.current(userId, at(PRESENCE / 2));
        await expect(queue.admit(at(PRESENCE), rules(2, PRESENCE))).resolves.toEqual({
          admitted: 2,
          expired: 0,
          dropped: 3,
          waiting: 1,
          admittedTotal: 2,
        });
        expect(await positions(issued, at(PRESENCE))).toEqual([undefined, 'ACTIVE', undefined, 'ACTIVE', 1, undefined]);
        for (const i of [0, 2, 5]) await expect(fixture.remnants(issued[i] as string, `u${i + 1}`)).resolves.toEqual([]);
      });

      it('drops the absent also when every slot is taken, and never an ACTIVE token for its silence', async () => {
        const [t1, t2, t3] = (await line(3)) as [string, string, string];
        await queue.admit(t0, rules(1, PRESENCE));
        await queue.current('u3', at(PRESENCE - 1));
        await expect(queue.admit(at(PRESENCE), rules(1, PRESENCE))).resolves.toEqual({
          admitted: 0,
          expired: 0,
          dropped: 1,
          waiting: 1,
          admittedTotal: 1,
        });
        expect(await positions([t1, t2, t3], at(PRESENCE))).toEqual(['ACTIVE', undefined, 1]);
        await expect(queue.admit(at(2 * PRESENCE - 1), rules(1, PRESENCE))).resolves.toMatchObject({ dropped: 1, waiting: 0 });
        await expect(queue.status(t1, at(2 * PRESENCE - 1))).resolves.toMatchObject({ status: 'ACTIVE' });
      });

      it('never moves a sighting back: a caller whose clock lags does not make a waiter look absent', async () => {
        const [t1] = (await line(1, at(20_000))) as [string];
        await queue.current('u1', at(10_000));
        await queue.issue('u1', tokens.next(), at(5_000));
        await expect(queue.admit(at(PRESENCE + 15_000), rules(0, PRESENCE))).resolves.toMatchObject({ dropped: 0, waiting: 1 });
        await expect(queue.admit(at(PRESENCE + 20_000), rules(0, PRESENCE))).resolves.toMatchObject({ dropped: 1, waiting: 0 });
        await expect(fixture.remnants(t1, 'u1')).resolves.toEqual([]);
      });
    });

    describe('current', () => {
      it("answers the user's WAITING token with its position, an ACTIVE one with its expiry, nothing for a user without one", async () => {
        const [t1, t2] = (await line(2)) as [string, string];
        await expect(queue.current('nobody', t0)).resolves.toBeUndefined();
        await expect(queue.current('u2', t0)).resolves.toEqual({ token: t2, state: { status: 'WAITING', userId: 'u2', position: 2 } });
        await queue.admit(t0, rules(1));
        await expect(queue.current('u1', at(10))).resolves.toEqual({ token: t1, state: { status: 'ACTIVE', userId: 'u1', expiresAt: at(TTL) } });
        await expect(queue.current('u2', at(10))).resolves.toEqual({ token: t2, state: { status: 'WAITING', userId: 'u2', position: 1 } });
      });

      it('answers nothing once the token is spent, or past its ACTIVE expiry before any round has dropped it', async () => {
        await line(3);
        await queue.admit(t0, rules(2));
        const spent = await queue.current('u1', t0);
        await queue.expire(spent?.token as string, t0);
        await expect(queue.current('u1', t0)).resolves.toBeUndefined();
        await expect(queue.current('u2', at(TTL - 1))).resolves.toMatchObject({ state: { status: 'ACTIVE' } });
        await expect(queue.current('u2', at(TTL))).resolves.toBeUndefined();
      });
    });

    describe('leave', () => {
      it('forgets a WAITING token: the line moves up, nothing is left, its user may queue again', async () => {
        const [t1, t2, t3] = (await line(3)) as [string, string, string];
        await expect(queue.leave('u2', at(10))).resolves.toBe(true);
        expect(await positions([t1, t2, t3])).toEqual([1, undefined, 2]);
        await expect(queue.current('u2', at(10))).resolves.toBeUndefined();
        await expect(fixture.remnants(t2, 'u2')).resolves.toEqual([]);
        await expect(queue.leave('u2', at(10))).resolves.toBe(false);
        await expect(queue.counts(at(10))).resolves.toEqual({ waiting: 2, active: 0 });
        await expect(issue('u2', at(20))).resolves.toMatchObject({ created: true, state: { status: 'WAITING', position: 3 } });
      });

      it('gives an ACTIVE slot back at once, for the very next round; the token is not kept SPENT', async () => {
        const [t1, t2] = (await line(2)) as [string, string];
        await queue.admit(t0, rules(1));
        await expect(queue.leave('u1', at(1_000))).resolves.toBe(true);
        await expect(queue.status(t1, at(1_000))).resolves.toBeUndefined();
        await expect(queue.counts(at(1_000))).resolves.toEqual({ waiting: 1, active: 0 });
        await expect(queue.admit(at(1_000), rules(1))).resolves.toEqual({ admitted: 1, expired: 0, dropped: 0, waiting: 0, admittedTotal: 2 });
        await expect(queue.status(t2, at(1_000))).resolves.toMatchObject({ status: 'ACTIVE', userId: 'u2' });
        await expect(fixture.remnants(t1, 'u1')).resolves.toEqual([]);
        await expect(queue.expire(t1, at(1_000))).resolves.toBe(false);
      });

      it('answers false for a user with no live token: never had one, or its ACTIVE time is up (and forgets that one)', async () => {
        await expect(queue.leave('nobody', t0)).resolves.toBe(false);
        const [t1] = (await line(1)) as [string];
        await queue.admit(t0, rules(1));
        await expect(queue.leave('u1', at(TTL))).resolves.toBe(false);
        await expect(fixture.remnants(t1, 'u1')).resolves.toEqual([]);
      });
    });

    describe('extend', () => {
      it('moves an ACTIVE expiry to a later until, never to an earlier one', async () => {
        const [t1] = (await line(1)) as [string];
        await queue.admit(t0, rules(1));
        await expect(queue.extend(t1, at(TTL + 5_000), at(1_000))).resolves.toBe(true);
        await expect(queue.status(t1, at(1_000))).resolves.toEqual({ status: 'ACTIVE', userId: 'u1', expiresAt: at(TTL + 5_000) });
        await expect(queue.extend(t1, at(10), at(2_000))).resolves.toBe(true);
        await expect(queue.status(t1, at(TTL + 4_999))).resolves.toEqual({ status: 'ACTIVE', userId: 'u1', expiresAt: at(TTL + 5_000) });
        await expect(queue.admit(at(TTL + 4_999), rules(1))).resolves.toMatchObject({ expired: 0 });
        await expect(queue.status(t1, at(TTL + 5_000))).resolves.toBeUndefined();
        await expect(queue.admit(at(TTL + 5_000), rules(1))).resolves.toMatchObject({ expired: 1 });
      });

      it('answers false and changes nothing for a WAITING, spent, expired or unknown token', async () => {
        const [t1, t2, t3] = (await line(3)) as [string, string, string];
        await queue.admit(t0, rules(2));
        await queue.expire(t2, t0);
        await expect(queue.extend(t3, at(TTL), t0)).resolves.toBe(false);
        await expect(queue.extend(t2, at(2 * TTL), t0)).resolves.toBe(false);
        await expect(queue.extend(tokens.next(), at(2 * TTL), t0)).resolves.toBe(false);
        await expect(queue.extend(t1, at(2 * TTL), at(TTL))).resolves.toBe(false);
        await expect(queue.status(t3, t0)).resolves.toEqual({ status: 'WAITING', userId: 'u3', position: 1 });
        await expect(queue.status(t2, at(TTL - 1))).resolves.toEqual({ status: 'SPENT', userId: 'u2' });
        await expect(queue.status(t2, at(TTL))).resolves.toBeUndefined();
        await expect(queue.status(t1, at(TTL))).resolves.toBeUndefined();
        await expect(queue.counts(at(TTL))).resolves.toEqual({ waiting: 1, active: 0 });
      });
    });

    it('counts waiting and unexpired ACTIVE tokens', async () => {
      await expect(queue.counts(t0)).resolves.toEqual({ waiting: 0, active: 0 });
      await line(3);
      await queue.admit(t0, rules(2));
      await expect(queue.counts(t0)).resolves.toEqual({ waiting: 1, active: 2 });
      await expect(queue.counts(at(TTL))).resolves.toEqual({ waiting: 1, active: 0 });
    });

    it('answers ping', async () => {
      await expect(queue.ping()).resolves.toBeUndefined();
    });
  });
}
