/**
 * The buyer's page (/app): sign in, take a place in line, watch it move,
 * hold seats on a live map, charge points, pay, see the tickets. Every step
 * is one call of the HTTP API (docs/API.md), and every refusal shows the
 * API's own message under a short title.
 */
import type { QueueToken, Reservation, Schedule, Seat } from './api.js';
import { ApiError, call, newKey, points } from './api.js';
import { el, must, show, signedInUser } from './dom.js';
import type { LiveMode } from './live-seats.js';
import { followSeats } from './live-seats.js';
import type { Mine } from './seat-map.js';
import { SeatMapView } from './seat-map.js';

const TITLES: Record<string, string> = {
  SEAT_UNAVAILABLE: 'Seat taken',
  SEAT_LIMIT_REACHED: 'Limit reached',
  RESERVATION_EXPIRED: 'Hold ended',
  INSUFFICIENT_POINTS: 'Not enough points',
  BALANCE_LIMIT_EXCEEDED: 'Balance limit',
  RESERVATION_NOT_PENDING: 'Not pending',
  LOCK_BUSY: 'Busy',
  TOKEN_REQUIRED: 'Join the line first',
  TOKEN_NOT_ACTIVE: 'Still waiting',
  TOKEN_INVALID: 'Queue token not valid',
  UNAUTHENTICATED: 'Not signed in',
  FORBIDDEN: 'Not allowed',
  NOT_FOUND: 'Not found',
  VALIDATION_FAILED: 'Not valid',
  SERVICE_UNAVAILABLE: 'Service unavailable',
  NETWORK: 'No answer',
};

/** A seat's lock is held for milliseconds: a few quick retries turn LOCK_BUSY into the real answer (held, or yours). */
const LOCK_BUSY_RETRIES = 3;
const STORAGE_KEY = 'ticketing.accessToken';

const body = document.body;
const maxSeats = Number(body.dataset.maxSeats ?? '4');

const state = {
  token: undefined as string | undefined,
  queue: undefined as QueueToken | undefined,
  scheduleId: undefined as string | undefined,
  holds: [] as Reservation[],
  bought: [] as Reservation[],
  balance: undefined as number | undefined,
};

const notice = el('notice');
const status = el('status');

function refuse(error: unknown): void {
  const apiError = error instanceof ApiError ? error : new ApiError(0, 'ERROR', error instanceof Error ? error.message : String(error));
  notice.replaceChildren(Object.assign(document.createElement('strong'), { textContent: TITLES[apiError.code] ?? apiError.code }), `: ${apiError.message}`);
  notice.dataset.code = apiError.code;
  show(notice, true);
}

function say(message: string): void {
  status.textContent = message;
  show(notice, false);
  delete notice.dataset.code;
}

const sleep = (ms: number) => new Promise((resolve) => window.setTimeout(resolve, ms));

// ---- sign in ----------------------------------------------------------------

function renderSignIn(): void {
  const user = state.token === undefined ? undefined : signedInUser(state.token);
  if (devForm !== null) show(devForm, user === undefined);
  show(el('paste-token-form'), user === undefined);
  show(el('signed-in'), user !== undefined);
  el('user-id').textContent = user ?? '';
  for (const id of ['queue', 'seats', 'wallet', 'tickets']) el(id).toggleAttribute('aria-disabled', user === undefined);
}

async function signIn(token: string): Promise<void> {
  state.token = token;
  try {
    const wallet = await call<{ balance: number }>('/users/me/points', { token });
    state.balance = wallet.balance;
  } catch (error) {
    state.token = undefined;
    renderSignIn();
    refuse(error);
    return;
  }
  sessionStorage.setItem(STORAGE_KEY, token);
  renderSignIn();
  renderWallet();
  say(`Signed in as ${signedInUser(token) ?? 'you'}.`);
  await Promise.all([refreshTickets(), refreshQueue()]);
}

function signOut(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  Object.assign(state, { token: undefined, queue: undefined, holds: [], bought: [], balance: undefined });
  renderSignIn();
  renderQueue();
  renderHolds();
  renderTickets();
  renderWallet();
  say('Signed out.');
}

/** In the page only where the service has the dev sign-in (embedded default). */
const devForm = document.getElementById('dev-sign-in-form');
const devUser = document.getElementById('dev-user') as HTMLInputElement | null;

devForm?.addEventListener('submit', (event) => {
  event.preventDefault();
  const userId = devUser?.value.trim() ?? '';
  void (async () => {
    try {
      const { accessToken } = await call<{ accessToken: string }>('/app/dev-sign-in', { method: 'POST', body: { userId } });
      await signIn(accessToken);
    } catch (error) {
      refuse(error);
    }
  })();
});

must<HTMLFormElement>('paste-token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  void signIn(must<HTMLTextAreaElement>('paste-token').value.trim());
});

el('sign-out').addEventListener('click', signOut);

// ---- schedules and the live seat map ----------------------------------------

let currentMap: SeatMapView | undefined;
let stopSeats: (() => void) | undefined;

async function loadSchedules(): Promise<void> {
  const select = must<HTMLSelectElement>('schedule');
  try {
    const { concerts } = await call<{ concerts: { id: string; title: string; venue: string }[] }>('/concerts');
    for (const concert of concerts) {
      const { schedules } = await call<{ schedules: Schedule[] }>(`/concerts/${encodeURIComponent(concert.id)}/schedules`);
      for (const schedule of schedules) {
        const when = new Date(schedule.startsAt).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
        select.append(new Option(`${concert.title}, ${concert.venue}: ${when} (${schedule.availableSeats} of ${schedule.totalSeats} seats left)`, schedule.id));
      }
    }
  } catch (error) {
    refuse(error);
  }
  const wanted = new URLSearchParams(location.search).get('schedule');
  if (wanted !== null && [...select.options].some((option) => option.value === wanted)) select.value = wanted;
  chooseSchedule(select.value === '' ? undefined : select.value);
}

function chooseSchedule(scheduleId: string | undefined): void {
  stopSeats?.();
  state.scheduleId = scheduleId;
  el('seat-map').replaceChildren();
  const live = must<HTMLAnchorElement>('live-link');
  show(live, scheduleId !== undefined);
  if (scheduleId === undefined) return;
  live.href = `/app/schedules/${encodeURIComponent(scheduleId)}`;
  const seats = new SeatMapView(el('seat-map'), { onPick: (seat) => void hold(seat) });
  currentMap = seats;
  renderMine();
  stopSeats = followSeats(scheduleId, {
    onMap: (map) => seats.update(map.seats),
    onMode: (mode: LiveMode) => (el('live-mode').textContent = mode === 'stream' ? 'live (server-sent events)' : mode === 'polling' ? 'live (polling every second)' : 'connecting…'),
    pollOnly: new URLSearchParams(location.search).get('live') === 'poll',
  });
}

must<HTMLSelectElement>('schedule').addEventListener('change', (event) => chooseSchedule((event.target as HTMLSelectElement).value));

function renderMine(): void {
  const mine = new Map<number, Mine>();
  for (const r of state.bought) if (r.scheduleId === state.scheduleId) mine.set(r.seatNo, 'bought');
  for (const r of state.holds) if (r.scheduleId === state.scheduleId && Date.parse(r.expiresAt) > Date.now()) mine.set(r.seatNo, 'held');
  currentMap?.markMine(mine);
}

// ---- the line ---------------------------------------------------------------

function renderQueue(): void {
  const q = state.queue;
  const text = el('queue-status');
  el('queue').dataset.status = q?.status ?? 'NONE';
  show(el('join'), q === undefined);
  show(el('leave'), q !== undefined);
  if (q === undefined) text.textContent = state.token === undefined ? 'Sign in to join the line.' : 'You are not in line.';
  else if (q.status === 'WAITING') text.textContent = `Waiting: position ${q.position ?? '?'}, about ${q.etaSeconds ?? '?'} s to go. Keep this page open: it keeps your place.`;
  else text.textContent = `Your turn (ACTIVE) until ${new Date(q.expiresAt ?? '').toLocaleTimeString('en')}: pick up to ${maxSeats} seats.`;
}

async function refreshQueue(): Promise<void> {
  if (state.token === undefined) return;
  try {
    state.queue = await call<QueueToken>('/queue/tokens/current', { token: state.token });
  } catch (error) {
    if (error instanceof ApiError && error.code === 'NOT_FOUND') state.queue = undefined;
    else refuse(error);
  }
  renderQueue();
}

el('join').addEventListener('click', () => {
  void (async () => {
    try {
      state.queue = await call<QueueToken>('/queue/tokens', { method: 'POST', token: state.token });
      say('You are in line.');
    } catch (error) {
      refuse(error);
    }
    renderQueue();
  })();
});

el('leave').addEventListener('click', () => {
  void (async () => {
    try {
      await call('/queue/tokens/current', { method: 'DELETE', token: state.token });
      say('You left the line.');
    } catch (error) {
      refuse(error);
    }
    state.queue = undefined;
    renderQueue();
  })();
});

/** Asking is presence: every second while waiting (the line drops a waiter who stops asking), every 5 s once ACTIVE. */
function followQueue(): void {
  let ticks = 0;
  let asking = false;
  window.setInterval(() => {
    ticks++;
    if (state.queue === undefined || asking || (state.queue.status === 'ACTIVE' && ticks % 5 !== 0)) return;
    asking = true;
    void refreshQueue().finally(() => (asking = false));
  }, 1_000);
}

// ---- holds, points, payment -------------------------------------------------

async function hold(seat: Seat): Promise<void> {
  if (state.scheduleId === undefined) return;
  const scheduleId = state.scheduleId;
  for (let attempt = 0; ; attempt++) {
    try {
      const reservation = await call<Reservation>('/reservations', {
        method: 'POST',
        body: { scheduleId, seatNo: seat.seatNo },
        token: state.token,
        queueToken: state.queue?.token,
      });
      state.holds.push(reservation);
      say(`Seat ${reservation.seatNo} is yours until ${new Date(reservation.expiresAt).toLocaleTimeString('en')}: pay before then.`);
      suggestCharge();
      break;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'LOCK_BUSY' && attempt < LOCK_BUSY_RETRIES) {
        await sleep(100 * (attempt + 1));
        continue;
      }
      refuse(error);
      if (error instanceof ApiError && error.code === 'SEAT_UNAVAILABLE') currentMap?.markTaken(seat.seatNo);
      break;
    }
  }
  renderHolds();
}

function renderHolds(): void {
  const list = el('hold-list');
  list.replaceChildren(
    ...state.holds.map((r) => {
      const item = document.createElement('li');
      item.dataset.reservation = r.reservationId;
      item.dataset.seat = String(r.seatNo);
      const label = document.createElement('span');
      label.textContent = `Seat ${r.seatNo}, ${points(r.price)}: `;
      const countdown = document.createElement('span');
      countdown.className = 'countdown';
      countdown.dataset.expiresAt = r.expiresAt;
      const pay = document.createElement('button');
      pay.type = 'button';
      pay.textContent = `Pay for seat ${r.seatNo}`;
      pay.addEventListener('click', () => void payFor(r));
      item.append(label, countdown, ' ', pay);
      return item;
    }),
  );
  show(el('pay-all'), state.holds.length > 0);
  el('holds-empty').hidden = state.holds.length > 0;
  tickCountdowns();
  renderMine();
}

function tickCountdowns(): void {
  for (const countdown of document.querySelectorAll<HTMLElement>('.countdown')) {
    const left = Math.max(0, Math.ceil((Date.parse(countdown.dataset.expiresAt ?? '') - Date.now()) / 1_000));
    countdown.textContent = left > 0 ? `hold ends in ${Math.floor(left / 60)}:${String(left % 60).padStart(2, '0')}` : 'hold ended';
    countdown.dataset.ended = String(left === 0);
  }
}

async function payFor(reservation: Reservation): Promise<boolean> {
  try {
    const payment = await call<{ balance: number }>(`/reservations/${encodeURIComponent(reservation.reservationId)}/payment`, {
      method: 'POST',
      token: state.token,
      queueToken: state.queue?.token,
      idempotencyKey: newKey(),
    });
    state.balance = payment.balance;
    state.holds = state.holds.filter((r) => r.reservationId !== reservation.reservationId);
    say(`Paid: seat ${reservation.seatNo} is yours.`);
    await refreshTickets();
    return true;
  } catch (error) {
    refuse(error);
    // A hold that ended, or was paid already, is no hold any more.
    if (error instanceof ApiError && (error.code === 'RESERVATION_EXPIRED' || error.code === 'RESERVATION_NOT_PENDING')) {
      state.holds = state.holds.filter((r) => r.reservationId !== reservation.reservationId);
    }
    return false;
  } finally {
    renderHolds();
    renderWallet();
    // The last payment spends the queue token: the line says so.
    void refreshQueue();
  }
}

el('pay-all').addEventListener('click', () => {
  void (async () => {
    for (const reservation of [...state.holds]) if (!(await payFor(reservation))) break;
  })();
});

function renderWallet(): void {
  el('balance').textContent = state.balance === undefined ? '–' : points(state.balance);
}

/** The amount the holds still need beyond the balance, as the charge form's default. */
function suggestCharge(): void {
  const owed = state.holds.reduce((sum, r) => sum + r.price, 0) - (state.balance ?? 0);
  if (owed > 0) must<HTMLInputElement>('charge-amount').value = String(Math.min(owed, 1_000_000));
}

must<HTMLFormElement>('charge-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const amount = Number(must<HTMLInputElement>('charge-amount').value);
  void (async () => {
    try {
      const wallet = await call<{ balance: number }>('/users/me/points/charge', { method: 'POST', body: { amount }, token: state.token, idempotencyKey: newKey() });
      state.balance = wallet.balance;
      say(`Charged ${points(amount)}.`);
    } catch (error) {
      refuse(error);
    }
    renderWallet();
  })();
});

// ---- tickets ----------------------------------------------------------------

async function refreshTickets(): Promise<void> {
  if (state.token === undefined) return;
  try {
    const { items } = await call<{ items: Reservation[] }>('/users/me/reservations?limit=50', { token: state.token });
    state.bought = items.filter((r) => r.status === 'CONFIRMED');
    // Holds made in another tab, or before a reload, are still holds.
    const known = new Set(state.holds.map((r) => r.reservationId));
    state.holds.push(...items.filter((r) => r.status === 'PENDING' && !known.has(r.reservationId)));
  } catch (error) {
    refuse(error);
  }
  renderTickets();
  renderHolds();
}

function renderTickets(): void {
  el('ticket-list').replaceChildren(
    ...state.bought.map((r) => {
      const item = document.createElement('li');
      item.dataset.seat = String(r.seatNo);
      item.textContent = `Seat ${r.seatNo} (schedule ${r.scheduleId}), ${points(r.price)}: CONFIRMED`;
      return item;
    }),
  );
  el('tickets-empty').hidden = state.bought.length > 0;
}

// ---- start --------------------------------------------------------------------

el('seat-limit').textContent = String(maxSeats);
if (devUser !== null) devUser.value ||= `buyer-${Math.random().toString(36).slice(2, 8)}`;
renderSignIn();
renderQueue();
renderHolds();
renderTickets();
renderWallet();
window.setInterval(() => {
  tickCountdowns();
  renderMine();
}, 1_000);
void loadSchedules();
followQueue();
const saved = sessionStorage.getItem(STORAGE_KEY);
if (saved !== null) void signIn(saved);
