import type { Logger } from 'pino';

export interface PeriodicJobOptions {
  /** For the logs. */
  readonly name: string;
  readonly intervalMs: number;
  readonly run: () => Promise<void>;
  readonly logger: Logger;
}

/**
 * Runs a background task every `intervalMs` in this instance. The next round
 * is scheduled when the last one ends (a setTimeout chain, not setInterval),
 * so a slow round never overlaps the next. A failing round is logged when
 * failures start and when they stop, not once per interval through an
 * outage. The timer does not keep the process alive; `stop()` cancels the
 * next round and waits for the running one, so that the resources it uses
 * can be closed after it.
 */
export class PeriodicJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private failing = false;

  constructor(private readonly options: PeriodicJobOptions) {}

  /** The first round runs one interval from now. Starting twice, or after stop, does nothing. */
  start(): void {
    if (this.stopped || this.timer !== undefined || this.running !== undefined) return;
    this.scheduleNext();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private scheduleNext(): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.round().finally(() => {
        this.running = undefined;
        if (!this.stopped) this.scheduleNext();
      });
    }, this.options.intervalMs);
    this.timer.unref();
  }

  private async round(): Promise<void> {
    const { name, logger } = this.options;
    try {
      await this.options.run();
      if (this.failing) logger.info({ job: name }, 'job recovered');
      this.failing = false;
    } catch (error) {
      if (!this.failing) logger.warn({ err: error, job: name }, 'job failed; retrying every interval');
      this.failing = true;
    }
  }
}
