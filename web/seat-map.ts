/**
 * A seat map that updates in place: one element per seat, made once and
 * then only its attributes change, so that keyboard focus stays where it is
 * while the map refreshes every second. Status is never colour alone: each
 * seat shows a letter (A available, H held, S sold, Y yours) and names it in
 * its aria-label.
 */
import type { Seat, SeatStatus } from './api.js';
import { points } from './api.js';

/** What the buyer holds or bought themselves, shown over what the map says. */
export type Mine = 'held' | 'bought';

/** Long enough for the map to catch up (cache within 1 s, pushed every second), short enough that a hold which ended at once shows free again soon. */
const TAKEN_OVERRIDE_MS = 3_000;

const LETTER: Record<SeatStatus, string> = { AVAILABLE: 'A', HELD: 'H', SOLD: 'S' };
const WORD: Record<SeatStatus, string> = { AVAILABLE: 'available', HELD: 'held', SOLD: 'sold' };

export interface SeatMapOptions {
  /** Buttons that call this on click (the buyer's page); without it, a read-only list (the live view). */
  readonly onPick?: (seat: Seat) => void;
}

export class SeatMapView {
  private readonly cells = new Map<number, HTMLElement>();
  private seats: readonly Seat[] = [];
  private mine = new Map<number, Mine>();
  /** Seats the service just refused as held or sold, shown so until the map (up to ~2 s behind) says so too, or TAKEN_OVERRIDE_MS pass. */
  private readonly taken = new Map<number, number>();

  constructor(
    private readonly root: HTMLElement,
    private readonly options: SeatMapOptions = {},
  ) {}

  update(seats: readonly Seat[]): void {
    this.seats = seats;
    for (const seat of seats) if (seat.status !== 'AVAILABLE') this.taken.delete(seat.seatNo);
    this.render();
  }

  /** The service answered that this seat is held or sold: fresher than the map, so shown at once. */
  markTaken(seatNo: number): void {
    this.taken.set(seatNo, Date.now() + TAKEN_OVERRIDE_MS);
    this.render();
  }

  markMine(mine: ReadonlyMap<number, Mine>): void {
    this.mine = new Map(mine);
    this.render();
  }

  private render(): void {
    const now = Date.now();
    for (const [seatNo, until] of this.taken) if (until <= now) this.taken.delete(seatNo);
    for (const mapped of this.seats) {
      const overridden = mapped.status === 'AVAILABLE' && this.taken.has(mapped.seatNo);
      const seat: Seat = overridden ? { ...mapped, status: 'HELD' } : mapped;
      const cell = this.cells.get(seat.seatNo) ?? this.create(seat);
      if (overridden) cell.dataset.override = 'refused';
      else delete cell.dataset.override;
      const mine = this.mine.get(seat.seatNo);
      const letter = mine === undefined ? LETTER[seat.status] : 'Y';
      const word = mine === undefined ? WORD[seat.status] : mine === 'held' ? 'held by you' : 'bought by you';
      cell.dataset.status = seat.status;
      if (mine === undefined) delete cell.dataset.mine;
      else cell.dataset.mine = mine;
      cell.setAttribute('aria-label', `Seat ${seat.seatNo}, ${word}, ${points(seat.price)}`);
      cell.title = `Seat ${seat.seatNo}: ${word}, ${points(seat.price)}`;
      const mark = cell.querySelector('.seat-status');
      if (mark !== null && mark.textContent !== letter) mark.textContent = letter;
    }
  }

  private create(seat: Seat): HTMLElement {
    const cell = document.createElement(this.options.onPick === undefined ? 'li' : 'button');
    cell.className = 'seat';
    cell.dataset.seat = String(seat.seatNo);
    const number = document.createElement('span');
    number.className = 'seat-no';
    number.textContent = String(seat.seatNo);
    const mark = document.createElement('span');
    mark.className = 'seat-status';
    // The aria-label says it in words; the letter is for the eye.
    mark.setAttribute('aria-hidden', 'true');
    cell.append(number, mark);
    const onPick = this.options.onPick;
    if (cell instanceof HTMLButtonElement && onPick !== undefined) {
      cell.type = 'button';
      // The map may be up to a second old, and a hold may have just ended: every seat may be asked for; the service decides.
      cell.addEventListener('click', () => {
        const current = this.seats.find((s) => s.seatNo === seat.seatNo);
        if (current !== undefined) onPick(current);
      });
    }
    this.cells.set(seat.seatNo, cell);
    // Seats come in seat-number order; one that appears later is appended in its place.
    const after = [...this.cells.keys()].filter((n) => n > seat.seatNo).sort((a, b) => a - b)[0];
    const before = after === undefined ? null : (this.cells.get(after) ?? null);
    this.root.insertBefore(cell, before);
    return cell;
  }
}

/** Available, held and sold, as the live view counts them. */
export function countSeats(seats: readonly Seat[]): Record<SeatStatus, number> {
  const counts: Record<SeatStatus, number> = { AVAILABLE: 0, HELD: 0, SOLD: 0 };
  for (const seat of seats) counts[seat.status]++;
  return counts;
}
