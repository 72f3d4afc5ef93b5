/**
 * What a buyer does on /app, step by step, for the browser tests; each step
 * waits on what the page shows (a locator), never on time. Also a plain
 * HTTP buyer (the API alone) for the scripted sales the live view follows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { signAccessToken } from '../../adapters/auth/sign-access-token.js';
import { loadOrCreateEmbeddedSecret } from '../../app/auth/embedded-secret.js';
import { loadConfig } from '../../app/config.js';
import type { RunningServer } from '../../app/server.js';
import { startServer } from '../../app/server.js';

/** The demo catalog's schedule of 50 seats (SEED_DEMO, on by default). */
export const DEMO_SCHEDULE = 'demo-schedule-1';
export const DEMO_PRICE = 50_000;

export interface EmbeddedServer {
  readonly server: RunningServer;
  readonly origin: string;
  readonly dataDir: string;
  /** An access token for `userId`, signed with the secret the service made in its data folder (as `npm run token` does). */
  readonly tokenFor: (userId: string) => Promise<string>;
  readonly stop: () => Promise<void>;
}

/** The embedded default on a free port, admitting every 100 ms, in a data folder of its own. */
export async function startEmbedded(env: Record<string, string> = {}): Promise<EmbeddedServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'ticketing-app-'));
  const server = await startServer(loadConfig({ PORT: '0', DATA_DIR: dataDir, LOG_LEVEL: 'silent', QUEUE_ADMIT_INTERVAL_MS: '100', ...env }));
  const secret = await loadOrCreateEmbeddedSecret(dataDir);
  return {
    server,
    origin: new URL(server.url).origin,
    dataDir,
    tokenFor: (userId) => signAccessToken(secret, userId),
    stop: async () => {
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export function seat(page: Page, seatNo: number): Locator {
  return page.locator(`#seat-map [data-seat="${seatNo}"]`);
}

/** Signs in with the dev sign-in and waits until the page says who is signed in. */
export async function signIn(page: Page, origin: string, userId: string): Promise<void> {
  await page.goto(`${origin}/app`);
  await page.locator('#dev-user').fill(userId);
  await page.locator('#dev-sign-in').click();
  await page.locator('#user-id', { hasText: userId }).waitFor();
}

/** Joins the line and waits until the page shows the token ACTIVE (the page's own polling keeps the buyer present). */
export async function joinUntilActive(page: Page): Promise<void> {
  await page.locator('#join').click();
  await page.locator('#queue[data-status="ACTIVE"]').waitFor({ timeout: 15_000 });
}

/** Waits until the seat map has drawn `seatNo` (the first frame or poll arrived). */
export async function seatMapShown(page: Page, seatNo: number): Promise<void> {
  await seat(page, seatNo).waitFor();
}

/** The API alone, as a script would buy: for the sales the live view watches. */
export class ApiBuyer {
  private queueToken: string | undefined;

  constructor(
    private readonly origin: string,
    private readonly accessToken: string,
  ) {}

  private async call(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${this.origin}${path}`, {
      method: init.method ?? 'GET',
      headers: {
        Authorization: `Bearer ${this.accessToken}`,
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...(this.queueToken === undefined ? {} : { 'Queue-Token': this.queueToken }),
        ...init.headers,
      },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  }

  private async expect(status: number, path: string, init: Parameters<ApiBuyer['call']>[1] = {}): Promise<Record<string, unknown>> {
    const answer = await this.call(path, init);
    if (answer.status !== status) throw new Error(`${init.method ?? 'GET'} ${path}: expected ${status}, got ${answer.status} ${JSON.stringify(answer.body)}`);
    return answer.body as Record<string, unknown>;
  }

  /** Takes a queue token (WAITING, or ACTIVE at once when a slot is free). */
  async join(): Promise<void> {
    const issued = await this.call('/queue/tokens', { method: 'POST' });
    this.queueToken = (issued.body as { token: string }).token;
  }

  /** Takes a queue token and asks until it is ACTIVE (asking is presence), within `timeoutMs`. */
  async queueUntilActive(timeoutMs = 15_000): Promise<void> {
    if (this.queueToken === undefined) await this.join();
    const deadline = Date.now() + timeoutMs;
    while ((await this.expect(200, '/queue/tokens/current')).status !== 'ACTIVE') {
      if (Date.now() > deadline) throw new Error('queue token not ACTIVE in time');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async hold(scheduleId: string, seatNo: number): Promise<string> {
    return (await this.expect(201, '/reservations', { method: 'POST', body: { scheduleId, seatNo } })).reservationId as string;
  }

  async charge(amount: number): Promise<void> {
    await this.expect(200, '/users/me/points/charge', { method: 'POST', body: { amount } });
  }

  async pay(reservationId: string): Promise<void> {
    await this.expect(201, `/reservations/${reservationId}/payment`, { method: 'POST' });
  }
}
