/**
 * Every lock key and cache key, in one place, so that two use cases writing
 * one resource cannot disagree on its key. Adapters add their own prefix.
 */
export const lockKeys = {
  /** Every write to a wallet: charge and pay. */
  points: (userId: string) => `point:${userId}`,
  seat: (scheduleId: string, seatNo: number) => `seat:${scheduleId}:${seatNo}`,
  /** A user's seats of one schedule: reserving takes it (bounded wait) so that the seat limit is checked and used by one request at a time. */
  userSeats: (scheduleId: string, userId: string) => `user-seats:${scheduleId}:${userId}`,
  reservation: (reservationId: string) => `reservation:${reservationId}`,
  /** Held fail-fast for the life of one idempotent request, to tell "still running" apart. */
  idempotency: (scope: string, key: string) => `idem:${scope}:${key}`,
  /** Held while an instance puts the demo catalog into an empty database, so that two starting at once seed it once. */
  demoSeed: () => 'seed:demo-catalog',
} as const;

export const cacheKeys = {
  concerts: () => 'concerts:all',
  schedules: (concertId: string) => `concert:${concertId}:schedules`,
  seats: (scheduleId: string) => `schedule:${scheduleId}:seats`,
} as const;
