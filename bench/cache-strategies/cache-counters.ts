/**
 * The cache's own counters during a window, summed over the instances'
 * /metrics (parsed by the query report's parseCache): scraped every second,
 * so that the seat map's database loads are known per second as well as
 * over the window.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { scrape } from '../metrics.js';
import type { CacheCounters } from '../queries/fleet.js';
import { cacheDelta, parseCache } from '../queries/fleet.js';

export interface CacheWindow {
  /** Between the first and the last scrape. */
  readonly seconds: number;
  /** Seat-map events of every read in the window (the probers' too), by event. */
  readonly seatEvents: Readonly<Record<string, number>>;
  readonly scheduleEvents: Readonly<Record<string, number>>;
  /** cache_loads_total{family="seats"} over the window, all instances. */
  readonly seatLoads: number;
  readonly scheduleLoads: number;
  /** Seat-map loads in each scrape interval, with its length in s. */
  readonly seatLoadsPerInterval: readonly { readonly loads: number; readonly seconds: number }[];
}

const readAll = async (urls: readonly string[]): Promise<CacheCounters> => parseCache(await Promise.all(urls.map(scrape)));

/** Scrapes at once (the window's start), then every `intervalMs` until stopped, then once more (its end). */
export class CacheWatch {
  private readonly samples: { at: number; counters: CacheCounters }[] = [];
  private stopped = false;
  private wake: (() => void) | undefined;
  private sampling: Promise<void> | undefined;

  private constructor(
    private readonly urls: readonly string[],
    private readonly intervalMs: number,
  ) {}

  static async start(urls: readonly string[], intervalMs: number): Promise<CacheWatch> {
    const watch = new CacheWatch(urls, intervalMs);
    watch.samples.push({ at: performance.now(), counters: await readAll(urls) });
    watch.sampling = watch.sample();
    return watch;
  }

  private async sample(): Promise<void> {
    while (!this.stopped) {
      // The sampling pace; stop() cuts it short.
      await Promise.race([sleep(this.intervalMs), new Promise<void>((resolve) => (this.wake = resolve))]);
      this.samples.push({ at: performance.now(), counters: await readAll(this.urls) });
    }
  }

  async stop(): Promise<CacheWindow> {
    this.stopped = true;
    this.wake?.();
    await this.sampling;
    const samples = this.samples;
    const first = samples[0]!;
    const last = samples.at(-1)!;
    const window = cacheDelta(last.counters, first.counters);
    return {
      seconds: (last.at - first.at) / 1000,
      seatEvents: window.events.seats ?? {},
      scheduleEvents: window.events.schedules ?? {},
      seatLoads: window.loads.seats ?? 0,
      scheduleLoads: window.loads.schedules ?? 0,
      seatLoadsPerInterval: samples.slice(1).map((sample, i) => ({
        loads: (sample.counters.loads.seats ?? 0) - (samples[i]!.counters.loads.seats ?? 0),
        seconds: (sample.at - samples[i]!.at) / 1000,
      })),
    };
  }
}
