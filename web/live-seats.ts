/**
 * The seat map, live: server-sent events from GET /schedules/{id}/seats/stream
 * (one frame a second), and polling GET /schedules/{id}/seats every second
 * when the stream is refused, unsupported or silent. The page says which.
 */
import type { SeatMap } from './api.js';
import { call } from './api.js';

export type LiveMode = 'stream' | 'polling' | 'connecting';

export interface LiveSeatsOptions {
  readonly onMap: (map: SeatMap) => void;
  readonly onMode: (mode: LiveMode) => void;
  readonly onError?: (message: string) => void;
  /** Skip the stream (`?live=poll`): to compare, or behind a proxy that buffers streams. */
  readonly pollOnly?: boolean;
}

const POLL_MS = 1_000;
/** A stream with no frame for this long counts as broken (frames come every second). */
const SILENCE_MS = 3_000;

export function followSeats(scheduleId: string, options: LiveSeatsOptions): () => void {
  const path = `/schedules/${encodeURIComponent(scheduleId)}/seats`;
  let stopped = false;
  let source: EventSource | undefined;
  let pollTimer: number | undefined;
  let watchdog: number | undefined;

  const poll = async (): Promise<void> => {
    if (stopped) return;
    try {
      const map = await call<SeatMap>(path);
      options.onMap({ ...map, at: new Date().toISOString() });
    } catch (error) {
      options.onError?.(error instanceof Error ? error.message : String(error));
    }
    if (!stopped) pollTimer = window.setTimeout(() => void poll(), POLL_MS);
  };

  const fallBack = (): void => {
    if (stopped || pollTimer !== undefined) return;
    source?.close();
    source = undefined;
    window.clearTimeout(watchdog);
    options.onMode('polling');
    void poll();
  };

  const armWatchdog = (): void => {
    window.clearTimeout(watchdog);
    watchdog = window.setTimeout(fallBack, SILENCE_MS);
  };

  if (options.pollOnly === true || typeof EventSource === 'undefined') {
    fallBack();
  } else {
    options.onMode('connecting');
    source = new EventSource(`${path}/stream`);
    armWatchdog();
    source.addEventListener('seats', (event) => {
      options.onMode('stream');
      armWatchdog();
      options.onMap(JSON.parse((event as MessageEvent<string>).data) as SeatMap);
    });
    // A refused stream (503 when the instance is full) is CLOSED for good; a dropped one reconnects on its own, watched by the watchdog.
    source.addEventListener('error', () => {
      if (source?.readyState === EventSource.CLOSED) fallBack();
    });
  }

  return () => {
    stopped = true;
    source?.close();
    window.clearTimeout(pollTimer);
    window.clearTimeout(watchdog);
  };
}
