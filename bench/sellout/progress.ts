/**
 * The live line on stderr while the sale runs: on a terminal, one line
 * rewritten in place about 4 times a second; in a log (CI, a pipe), a
 * plain line every few seconds, so that the log stays readable.
 */
import type { Tally } from './tally.js';

const TTY_EVERY_MS = 250;
const LINES_EVERY_MS = 5_000;

const n = (value: number): string => value.toLocaleString('en-US');

export function progressLine(tally: Tally, buyers: number): string {
  const inFlight = tally.started - tally.finished;
  return [
    `${(tally.elapsedMs() / 1_000).toFixed(1).padStart(5)} s`,
    `buyers ${n(tally.finished)}/${n(buyers)} done, ${n(inFlight)} in flight`,
    `line ${n(tally.waiting)} waiting, ${n(tally.admitted)} admitted`,
    `seats ${n(tally.held)} held, ${n(tally.sold)}/${n(tally.totalSeats)} sold`,
    `errors ${n(tally.errors)}`,
  ].join(' | ');
}

/** Starts the line; the returned function stops it and ends the line. */
export function showProgress(tally: Tally, buyers: number, mode: 'tty' | 'lines' | 'off'): () => void {
  if (mode === 'off') return () => {};
  const tty = mode === 'tty';
  const draw = (): void => {
    // \x1b[K clears what a longer previous line left at the end.
    process.stderr.write(tty ? `\r${progressLine(tally, buyers)}\x1b[K` : `[sellout] ${progressLine(tally, buyers)}\n`);
  };
  const timer = setInterval(draw, tty ? TTY_EVERY_MS : LINES_EVERY_MS);
  return () => {
    clearInterval(timer);
    draw();
    if (tty) process.stderr.write('\n');
  };
}
