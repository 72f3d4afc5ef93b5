import { describe, expect, it } from 'vitest';
import { InFlight } from '../../app/in-flight.js';
import { deferred } from '../support/deferred.js';

describe('InFlight', () => {
  it('is idle at once with nothing running', async () => {
    await expect(new InFlight().idle(10_000)).resolves.toBe(true);
  });

  it('becomes idle only when the last tracked handler ends, whether it resolves or throws', async () => {
    const inFlight = new InFlight();
    const first = deferred<string>();
    const second = deferred<string>();
    const a = inFlight.track(() => first.promise);
    const b = inFlight.track(() => second.promise).catch((error: unknown) => error);
    const events: string[] = [];
    const idle = inFlight.idle(10_000).then((value) => events.push(`idle ${value}`));
    first.resolve('a');
    await a;
    events.push('first done');
    expect(inFlight.count).toBe(1);
    second.reject(new Error('b'));
    await b;
    await idle;
    expect(events).toEqual(['first done', 'idle true']);
    expect(inFlight.count).toBe(0);
  });

  it('gives up after the timeout and says so', async () => {
    const inFlight = new InFlight();
    const never = deferred();
    void inFlight.track(() => never.promise);
    await expect(inFlight.idle(20)).resolves.toBe(false);
    never.resolve();
  });
});
