export type * from './lock.port.js';
export type * from './transaction.port.js';
export type * from './points.repository.js';
export type * from './idempotency.repository.js';
export type * from './cache.port.js';
export type * from './queue.port.js';
export type * from './clock.port.js';
export type * from './id-generator.port.js';
export { systemClock } from './clock.port.js';
