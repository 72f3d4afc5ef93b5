/**
 * Awaited by every in-memory adapter before each step. A resolved promise by
 * default; property tests pass `() => s.schedule(Promise.resolve())` so that
 * fast-check's scheduler decides which concurrent step runs next.
 */
export type Tick = () => Promise<void>;

export const immediateTick: Tick = () => Promise.resolve();
