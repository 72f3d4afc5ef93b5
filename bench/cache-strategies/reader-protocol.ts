/** What the main process and the read-load process (reader.ts) exchange: the load's settings, its start mark, its figures. */
export interface ReaderConfig {
  readonly urls: readonly string[];
  readonly path: string;
  readonly durationS: number;
  /** Connections per instance. */
  readonly connections: number;
  /** Requests per second over all instances; unset: as many as they answer. */
  readonly rate?: number;
}

export interface ReaderResult {
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly elapsedS: number;
  /** Latency of the 2xx answers, ms. */
  readonly p50: number;
  readonly p99: number;
}

export const READER_STARTED = 'READER_STARTED';
