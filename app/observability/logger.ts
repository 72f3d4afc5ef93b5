import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { currentRequestId } from '../../adapters/http/request-id.js';
import type { LogLevel } from '../config.js';

/** Every line written while a request is served carries its `requestId` (the X-Request-Id it came with or was given). */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'concert-ticketing' },
      mixin: () => {
        const requestId = currentRequestId();
        return requestId === undefined ? {} : { requestId };
      },
    },
    destination,
  );
}
