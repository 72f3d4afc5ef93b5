import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SeatStreams, seatStreamRoutes, StreamsFullError } from '../../adapters/http/seat-stream.js';
import type { Seat } from '../../core/domain/catalog.js';

const decoder = new TextDecoder();
const SEATS: Seat[] = [{ scheduleId: 's1', seatNo: 1, price: 100, status: 'AVAILABLE' }];
const FIRST = new TextEncoder().encode('event: seats\ndata: {}\n\n');

/** SeatStreams over a counted seat-map read, on fake timers (ticks are advanced, not waited for). */
function streams(options: { maxWatchers?: number } = {}) {
  const reads: string[] = [];
  const hub = new SeatStreams(
    async (scheduleId) => {
      reads.push(scheduleId);
      return SEATS;
    },
    pino({ level: 'silent' }),
    { intervalMs: 1_000, ...options },
  );
  const watcher = (scheduleId = 's1') => {
    const frames: string[] = [];
    let ended = 0;
    const stop = hub.watch(scheduleId, async (frame) => void frames.push(decoder.decode(frame)), () => void ended++, FIRST);
    return { frames, stop, ended: () => ended };
  };
  return { hub, reads, watcher };
}

describe('SeatStreams: the live seat map', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads each watched schedule once per tick, whatever the number of watchers, and writes every watcher that one frame', async () => {
    const { reads, watcher } = streams();
    const watchers = Array.from({ length: 100 }, () => watcher());
    const other = watcher('s2');
    await vi.advanceTimersByTimeAsync(3_000);
    expect(reads.filter((id) => id === 's1')).toHaveLength(3);
    expect(reads.filter((id) => id === 's2')).toHaveLength(3);
    for (const { frames } of [...watchers, other]) expect(frames).toHaveLength(4);
    expect(watchers[0]!.frames[1]).toMatch(/^event: seats\ndata: \{"scheduleId":"s1","at":"[^"]+","seats":\[\{"seatNo":1,"price":100,"status":"AVAILABLE"\}\]\}\n\n$/);
  });

  it('stops reading when the last watcher of a schedule leaves', async () => {
    const { hub, reads, watcher } = streams();
    const a = watcher();
    const b = watcher();
    await vi.advanceTimersByTimeAsync(1_000);
    a.stop();
    b.stop();
    b.stop();
    expect(hub.watchers).toBe(0);
    expect(hub.schedulesWatched).toBe(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(reads).toHaveLength(1);
  });

  it('skips a watcher still writing an earlier frame instead of queueing frames for it without bound', async () => {
    const { hub } = streams();
    let writes = 0;
    hub.watch('s1', () => {
      writes++;
      return new Promise(() => {});
    }, () => {}, FIRST);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(writes).toBe(1);
  });

  it('refuses a watcher past the bound, and every new one once closed; close ends every stream', async () => {
    const { hub, watcher } = streams({ maxWatchers: 2 });
    const a = watcher();
    const b = watcher('s2');
    expect(() => watcher()).toThrow(StreamsFullError);
    a.stop();
    const c = watcher();
    hub.close();
    expect([b.ended(), c.ended()]).toEqual([1, 1]);
    b.stop();
    c.stop();
    expect(() => watcher()).toThrow(StreamsFullError);
  });
});

describe('GET /schedules/{scheduleId}/seats/stream', () => {
  const read = async () => SEATS;

  it('sends the seat map at once as an SSE frame, and drops the watcher when the client goes away', async () => {
    const hub = new SeatStreams(read, pino({ level: 'silent' }));
    const response = await seatStreamRoutes(hub, read).request('/schedules/s1/seats/stream');
    expect(response.status).toBe(200);
    expect(response.headers.get('Content-Type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(decoder.decode(value)).toMatch(/^event: seats\ndata: \{"scheduleId":"s1",/);
    expect(hub.watchers).toBe(1);
    await reader.cancel();
    await vi.waitFor(() => expect(hub.watchers).toBe(0));
    hub.close();
  });

  it('answers 503 with Retry-After, opening no stream, when the instance streams to as many watchers as it may', async () => {
    const hub = new SeatStreams(read, pino({ level: 'silent' }), { maxWatchers: 0 });
    const response = await seatStreamRoutes(hub, read).request('/schedules/s1/seats/stream');
    expect(response.status).toBe(503);
    expect(response.headers.get('Retry-After')).toBe('30');
    expect(await response.json()).toMatchObject({ error: { code: 'SERVICE_UNAVAILABLE' } });
    expect(hub.watchers).toBe(0);
  });
});
