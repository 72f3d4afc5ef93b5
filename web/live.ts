/**
 * The live view of one schedule (/app/schedules/{id}): the seat map as it
 * changes (server-sent events, polling as the fallback), the counts of
 * available, held and sold, and the line's length and admission rate.
 * Read-only: nothing here signs in.
 */
import type { QueueStats } from './api.js';
import { call } from './api.js';
import { el } from './dom.js';
import { followSeats } from './live-seats.js';
import { countSeats, SeatMapView } from './seat-map.js';

const scheduleId = document.body.dataset.scheduleId ?? '';
const map = new SeatMapView(el('seat-map'));

function setText(id: string, text: string): void {
  const element = el(id);
  if (element.textContent !== text) element.textContent = text;
}

followSeats(scheduleId, {
  onMap: (seatMap) => {
    map.update(seatMap.seats);
    const counts = countSeats(seatMap.seats);
    setText('count-available', String(counts.AVAILABLE));
    setText('count-held', String(counts.HELD));
    setText('count-sold', String(counts.SOLD));
    setText('updated-at', new Date(seatMap.at ?? Date.now()).toLocaleTimeString('en'));
    el('error').hidden = true;
  },
  onMode: (mode) => {
    document.body.dataset.liveMode = mode;
    setText('live-mode', mode === 'stream' ? 'server-sent events' : mode === 'polling' ? 'polling every second' : 'connecting…');
  },
  onError: (message) => {
    setText('error', `The seat map could not be read: ${message}`);
    el('error').hidden = false;
  },
  pollOnly: new URLSearchParams(location.search).get('live') === 'poll',
});

/** The line, every second: its length and how fast it moves (GET /queue/stats). */
async function followQueue(): Promise<void> {
  try {
    const stats = await call<QueueStats>('/queue/stats');
    setText('queue-waiting', String(stats.waiting));
    setText('queue-active', String(stats.active));
    setText('queue-rate', stats.admittedPerMinute === null ? 'not measured yet (no backlog)' : `${stats.admittedPerMinute} per minute`);
  } catch (error) {
    setText('queue-rate', `unknown (${error instanceof Error ? error.message : String(error)})`);
  }
  window.setTimeout(() => void followQueue(), 1_000);
}
void followQueue();
