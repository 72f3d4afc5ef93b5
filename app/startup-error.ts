/**
 * A start refused for a reason the operator can fix (a busy port, a data
 * folder another process uses). Its message is one line saying what and
 * where; main.ts prints it alone, without a stack, and exits non-zero.
 */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}
