/** The HTTP API as the pages call it: JSON in and out, every refusal an ApiError carrying the API's own code and message. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface CallOptions {
  readonly method?: 'GET' | 'POST' | 'DELETE';
  readonly body?: unknown;
  /** The access token (Authorization: Bearer). */
  readonly token?: string;
  /** The ACTIVE queue token, for reserving and paying. */
  readonly queueToken?: string;
  readonly idempotencyKey?: string;
}

export async function call<T>(path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.token !== undefined) headers.Authorization = `Bearer ${options.token}`;
  if (options.queueToken !== undefined) headers['Queue-Token'] = options.queueToken;
  if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'the service did not answer; check that it is running');
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed: unknown = text === '' ? undefined : safeJson(text);
  if (!response.ok) {
    const error = (parsed as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    throw new ApiError(
      response.status,
      typeof error?.code === 'string' ? error.code : `HTTP_${response.status}`,
      typeof error?.message === 'string' ? error.message : `the service answered ${response.status}`,
    );
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD';
export interface Seat {
  readonly seatNo: number;
  readonly price: number;
  readonly status: SeatStatus;
}
export interface SeatMap {
  readonly scheduleId: string;
  readonly seats: readonly Seat[];
  /** When the server read it (the stream says; a poll is read now). */
  readonly at?: string;
}
export interface Concert {
  readonly id: string;
  readonly title: string;
  readonly venue: string;
}
export interface Schedule {
  readonly id: string;
  readonly concertId: string;
  readonly startsAt: string;
  readonly totalSeats: number;
  readonly availableSeats: number;
}
export interface QueueToken {
  readonly token: string;
  readonly status: 'WAITING' | 'ACTIVE';
  readonly position?: number | null;
  readonly etaSeconds?: number | null;
  readonly expiresAt?: string | null;
}
export interface Reservation {
  readonly reservationId: string;
  readonly scheduleId: string;
  readonly seatNo: number;
  readonly price: number;
  readonly status: 'PENDING' | 'CONFIRMED' | 'EXPIRED';
  readonly expiresAt: string;
}
export interface QueueStats {
  readonly waiting: number;
  readonly active: number;
  readonly admittedPerMinute: number | null;
}

/** A fresh Idempotency-Key per attempt the buyer makes. getRandomValues, not randomUUID: the latter needs https (or localhost). */
export function newKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

export const points = (n: number): string => `${n.toLocaleString('en')} points`;
