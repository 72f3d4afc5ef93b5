import { MemoryQueue } from '../../adapters/memory/memory-queue.js';
import { RandomTokenGenerator } from '../../adapters/system/random-token-generator.js';
import type { Clock } from '../../core/ports/clock.port.js';
import type { IdGenerator } from '../../core/ports/id-generator.port.js';
import type { QueuePort } from '../../core/ports/queue.port.js';
import { AdmissionRate } from '../../core/usecases/queue/admission-rate.js';
import { AdmitWaiters } from '../../core/usecases/queue/admit-waiters.js';
import { ExpireToken } from '../../core/usecases/queue/expire-token.js';
import { ExtendToken } from '../../core/usecases/queue/extend-token.js';
import { GetCurrentToken } from '../../core/usecases/queue/get-current-token.js';
import { IssueToken } from '../../core/usecases/queue/issue-token.js';
import { LeaveQueue } from '../../core/usecases/queue/leave-queue.js';
import type { QueueSettings } from '../../core/usecases/queue/queue-settings.js';
import { RequireActiveToken } from '../../core/usecases/queue/require-active-token.js';

export const TEST_QUEUE_SETTINGS: QueueSettings = { activeMax: 2, admitIntervalMs: 1_000, activeTtlMs: 60_000, presenceTimeoutMs: 120_000 };

/**
 * Every queue use case over one queue (in-memory unless given), wired as
 * app/container.ts does. Settings not given are TEST_QUEUE_SETTINGS's.
 */
export function queueUseCases(
  clock: Clock,
  options: { queue?: QueuePort; settings?: Partial<QueueSettings>; tokens?: IdGenerator } = {},
) {
  const queue = options.queue ?? new MemoryQueue();
  const settings: QueueSettings = { ...TEST_QUEUE_SETTINGS, ...options.settings };
  const rate = new AdmissionRate();
  return {
    queue,
    rate,
    settings,
    issueToken: new IssueToken(queue, options.tokens ?? new RandomTokenGenerator(), clock, rate, settings),
    getCurrentToken: new GetCurrentToken(queue, clock, rate, settings),
    leaveQueue: new LeaveQueue(queue, clock),
    admitWaiters: new AdmitWaiters(queue, clock, rate, settings),
    expireToken: new ExpireToken(queue, clock),
    extendToken: new ExtendToken(queue, clock),
    requireActiveToken: new RequireActiveToken(queue, clock),
  };
}
