/**
 * The buyers' way to the service instances: one keep-alive agent per
 * instance, each buyer sticking to a home instance until it stops
 * answering, then moving to the next that does (an instance killed in the
 * middle of the sale). Retries what the service says to retry (503 and
 * IDEMPOTENCY_IN_PROGRESS, honouring Retry-After; LOCK_BUSY when asked) and
 * requests that got no answer, within a time budget; every answer and every
 * silence is recorded in the tally.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { HTTP_REQUEST_TIMEOUT_MS, LOCK_LEASE_MS } from '../../app/time-bounds.js';
import type { Answer, Request } from './http.js';
import { send } from './http.js';
import type { Tally } from './tally.js';

/**
 * The service answers every request within HTTP_REQUEST_TIMEOUT_MS (503
 * after that); a client that waits a little longer only ever gives up on an
 * instance that is gone or hung, never on a slow answer.
 */
const CLIENT_TIMEOUT_MS = HTTP_REQUEST_TIMEOUT_MS + 5_000;

/**
 * How long one request keeps being retried. Longer than a lock's lease: the
 * keys a killed instance held stay taken until their lease ends, and a
 * payment waiting on them must outlast that to get through.
 */
export const RETRY_BUDGET_MS = LOCK_LEASE_MS + 5_000;

/** An instance that gave no answer is skipped this long before anyone tries it again. */
const DOWN_FOR_MS = 1_000;

/** Sockets per instance: the crowd's in-flight requests spread over the instances, with room for one instance taking them all. */
const MAX_SOCKETS_PER_INSTANCE = 512;

/** The run is over (--max-seconds, or Ctrl-C): the buyer stops where it is. */
export class Deadline extends Error {
  constructor() {
    super('the sale is over');
    this.name = 'Deadline';
  }
}

/** A request that got no usable answer within the retry budget. */
export class GiveUp extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'GiveUp';
  }
}

export interface CallPolicy {
  /** Retry 409 LOCK_BUSY: a payment or a charge waits its turn; a reserve does not (LOCK_BUSY there is a seat someone else is taking). */
  readonly retryLockBusy?: boolean;
}

export interface Sent {
  readonly answer: Answer;
  /**
   * A write sent more than once after getting no answer: an earlier attempt
   * may have done its work (a reserve whose answer was lost holds a seat the
   * buyer does not know about).
   */
  readonly ambiguous: boolean;
}

/** A buyer's current instance; moves on when that one stops answering. */
export interface Home {
  index: number;
}

interface Endpoint {
  readonly base: URL;
  readonly agent: http.Agent;
  downUntil: number;
}

export class ServiceClient {
  private readonly endpoints: Endpoint[];

  constructor(
    urls: readonly string[],
    private readonly tally: Tally,
    private readonly signal: AbortSignal,
  ) {
    this.endpoints = urls.map((url) => {
      const base = new URL(url);
      // A load generator aims at this machine only.
      if (!base.hostname.startsWith('127.') && base.hostname !== 'localhost') throw new Error(`refusing to load ${url}: 127.0.0.1 only`);
      return { base, agent: new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS_PER_INSTANCE }), downUntil: 0 };
    });
  }

  get instances(): number {
    return this.endpoints.length;
  }

  /** Sends `request` from `home`'s instance (or the next one answering), retrying per `policy`; throws Deadline or GiveUp. */
  async call(home: Home, route: string, request: Request, policy: CallPolicy = {}): Promise<Sent> {
    const startedAt = performance.now();
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      if (this.signal.aborted) throw new Deadline();
      const index = this.pick(home);
      const endpoint = this.endpoints[index]!;
      const sentAt = performance.now();
      const result = await send(endpoint.agent, endpoint.base, request, CLIENT_TIMEOUT_MS, this.signal);
      const latencyMs = performance.now() - sentAt;
      const overBudget = performance.now() - startedAt > RETRY_BUDGET_MS;
      if (!result.answered) {
        if (result.code === 'ABORTED') throw new Deadline();
        this.tally.reply(route, undefined, result.code, latencyMs);
        ambiguous ||= request.method !== 'GET';
        endpoint.downUntil = performance.now() + DOWN_FOR_MS;
        if (overBudget) throw new GiveUp(`${route}: no answer (${result.code})`);
        this.tally.failovers++;
        home.index = this.pick({ index: (index + 1) % this.endpoints.length });
        // The first retry goes at once to another instance; later ones back off (every instance may be down).
        if (attempt > 0) await this.pause(backoffMs(attempt));
        continue;
      }
      this.tally.reply(route, result.status, result.code, latencyMs);
      const retriable =
        result.status === 503 || result.code === 'IDEMPOTENCY_IN_PROGRESS' || (policy.retryLockBusy === true && result.code === 'LOCK_BUSY');
      if (!retriable || overBudget) return { answer: result, ambiguous };
      await this.pause(Math.min(1_000, Math.max(result.retryAfterMs ?? 0, backoffMs(attempt))));
    }
  }

  /** Closes the idle keep-alive sockets, so that the process can exit. */
  close(): void {
    for (const endpoint of this.endpoints) endpoint.agent.destroy();
  }

  /** `home`'s instance if it is not marked down, else the next one that is not; if all are, `home`'s anyway. */
  private pick(home: Home): number {
    const now = performance.now();
    for (let step = 0; step < this.endpoints.length; step++) {
      const index = (home.index + step) % this.endpoints.length;
      if (this.endpoints[index]!.downUntil <= now) return index;
    }
    return home.index % this.endpoints.length;
  }

  private async pause(ms: number): Promise<void> {
    try {
      await sleep(ms, undefined, { signal: this.signal });
    } catch {
      throw new Deadline();
    }
  }
}

/** 100 ms doubling to 1 s, with jitter: retries of many buyers do not land together. */
function backoffMs(attempt: number): number {
  return Math.min(1_000, 100 * 2 ** attempt) * (0.5 + Math.random());
}
