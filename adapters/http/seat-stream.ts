import { createRoute, z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { streamSSE } from 'hono/streaming';
import type { Logger } from 'pino';
import type { Seat } from '../../core/domain/catalog.js';
import { DomainError } from '../../core/domain/errors.js';
import { errorResponses, idParam } from './schemas.js';
import { createRouter } from './validation.js';

/** The live view's push: once a second, what a poll of the seat map would read (it reads the same cached map). */
export const SEAT_STREAM_INTERVAL_MS = 1_000;
/**
 * Watchers one instance serves at once. Each costs a socket and a few KiB of
 * buffers; bench/live-view.ts measures 1,000 on this 2-core machine. Past
 * the bound a watcher is refused (503) and the page polls instead.
 */
export const MAX_SEAT_STREAM_WATCHERS = 2_000;

/** A refused watcher's page polls meanwhile; it may try the stream again after this long. */
const FULL_RETRY_AFTER_S = 30;

/** The instance serves as many live watchers as it may: 503 with Retry-After, like any capacity refusal. */
export class StreamsFullError extends DomainError {
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(max: number) {
    super(`this instance already streams to ${max} watchers; poll GET /schedules/{scheduleId}/seats instead`);
  }
}

interface Watcher {
  /** The stream is still writing an earlier frame (a slow client): skip this one rather than queue it without bound. */
  busy: boolean;
  readonly write: (frame: Uint8Array) => Promise<unknown>;
  readonly end: () => void;
}

interface Ticker {
  readonly watchers: Set<Watcher>;
  readonly timer: NodeJS.Timeout;
  reading: boolean;
}

export interface SeatStreamOptions {
  readonly intervalMs?: number;
  readonly maxWatchers?: number;
}

const encoder = new TextEncoder();

/** One SSE frame, encoded once and written to every watcher of the schedule. */
export function seatFrame(scheduleId: string, seats: readonly Seat[], at: Date): Uint8Array {
  const data = JSON.stringify({ scheduleId, at: at.toISOString(), seats: seats.map(({ seatNo, price, status }) => ({ seatNo, price, status })) });
  return encoder.encode(`event: seats\ndata: ${data}\n\n`);
}

/**
 * The seat maps the live views watch: one ticker per watched schedule reads
 * the cached map once per interval and writes that one encoded frame to
 * every watcher, so N watchers cost one read per second, not N. A ticker
 * stops when its last watcher leaves. `close()` ends every stream at once
 * (the server's shutdown), so that an open stream does not hold the drain.
 */
export class SeatStreams {
  private readonly tickers = new Map<string, Ticker>();
  private count = 0;
  private closed = false;
  private readonly intervalMs: number;
  private readonly maxWatchers: number;

  constructor(
    private readonly readSeats: (scheduleId: string) => Promise<Seat[]>,
    private readonly logger: Logger,
    options: SeatStreamOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? SEAT_STREAM_INTERVAL_MS;
    this.maxWatchers = options.maxWatchers ?? MAX_SEAT_STREAM_WATCHERS;
  }

  get watchers(): number {
    return this.count;
  }

  get schedulesWatched(): number {
    return this.tickers.size;
  }

  /** No watcher may be added now: the bound is reached, or the instance is closing. */
  get full(): boolean {
    return this.closed || this.count >= this.maxWatchers;
  }

  /** Why a watcher is refused now (see `full`). */
  refusal(): StreamsFullError {
    return new StreamsFullError(this.maxWatchers);
  }

  private admit(): void {
    if (this.full) throw this.refusal();
  }

  /** Adds a watcher and writes `first` to it; the returned function removes it (idempotent). `end` is called on close(). */
  watch(scheduleId: string, write: Watcher['write'], end: () => void, first: Uint8Array): () => void {
    this.admit();
    const watcher: Watcher = { busy: false, write, end };
    this.send(watcher, first);
    let ticker = this.tickers.get(scheduleId);
    if (ticker === undefined) {
      const started: Ticker = { watchers: new Set(), reading: false, timer: setInterval(() => void this.tick(scheduleId, started), this.intervalMs) };
      this.tickers.set(scheduleId, started);
      ticker = started;
    }
    ticker.watchers.add(watcher);
    this.count++;
    const owner = ticker;
    return () => {
      if (!owner.watchers.delete(watcher)) return;
      this.count--;
      if (owner.watchers.size === 0) {
        clearInterval(owner.timer);
        if (this.tickers.get(scheduleId) === owner) this.tickers.delete(scheduleId);
      }
    };
  }

  /** Ends every stream; new watchers are refused from now on. */
  close(): void {
    this.closed = true;
    for (const ticker of this.tickers.values()) {
      clearInterval(ticker.timer);
      for (const watcher of ticker.watchers) watcher.end();
    }
  }

  /** Writes `frame` to one watcher unless it is still busy with the last one. */
  private send(watcher: Watcher, frame: Uint8Array): void {
    if (watcher.busy) return;
    watcher.busy = true;
    void watcher.write(frame).finally(() => (watcher.busy = false));
  }

  private async tick(scheduleId: string, ticker: Ticker): Promise<void> {
    // A read slower than the interval (a slow database) is not stacked up behind itself.
    if (ticker.reading) return;
    ticker.reading = true;
    try {
      const frame = seatFrame(scheduleId, await this.readSeats(scheduleId), new Date());
      for (const watcher of ticker.watchers) this.send(watcher, frame);
    } catch (error) {
      // The watchers keep their last map (the page shows its age); the next tick tries again.
      this.logger.debug({ err: error, scheduleId }, 'live seat map: read failed');
    } finally {
      ticker.reading = false;
    }
  }
}

const streamRoute = createRoute({
  method: 'get',
  path: '/schedules/{scheduleId}/seats/stream',
  tags: ['catalog'],
  summary: 'The seat map, pushed once a second (server-sent events)',
  description: `text/event-stream: an \`event: seats\` frame at once and then every second, its data the seat map as GET /schedules/{scheduleId}/seats answers it plus \`at\` (when it was read). One read per schedule per second serves every watcher of an instance. At most ${MAX_SEAT_STREAM_WATCHERS} watchers per instance: past that, 503 with Retry-After (poll the seat map instead). The stream ends when the service shuts down; EventSource reconnects on its own.`,
  request: { params: z.object({ scheduleId: idParam('scheduleId', 'demo-schedule-1') }) },
  responses: {
    200: { description: 'the stream', content: { 'text/event-stream': { schema: z.string().openapi({ example: 'event: seats\ndata: {"scheduleId":"demo-schedule-1","at":"…","seats":[…]}\n\n' }) } } },
    ...errorResponses({ 404: 'NOT_FOUND: no such schedule' }),
  },
});

/** `GET /schedules/{scheduleId}/seats/stream`: an unknown schedule is a 404 before any stream opens. */
export function seatStreamRoutes(streams: SeatStreams, readSeats: (scheduleId: string) => Promise<Seat[]>): OpenAPIHono {
  const app = createRouter();
  app.openapi(streamRoute, async (c) => {
    const { scheduleId } = c.req.valid('param');
    if (streams.full) {
      const { code, message } = streams.refusal();
      return c.json({ error: { code, message } }, 503, { 'Retry-After': String(FULL_RETRY_AFTER_S) });
    }
    const first = seatFrame(scheduleId, await readSeats(scheduleId), new Date());
    return streamSSE(c, async (stream) => {
      let stop: (() => void) | undefined;
      await new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        // Refused only if the instance filled up or began closing since the check above: the stream then simply ends.
        try {
          stop = streams.watch(scheduleId, (frame) => stream.write(frame), resolve, first);
        } catch {
          resolve();
        }
      });
      stop?.();
    });
  });
  return app;
}
