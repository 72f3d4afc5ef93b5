/** Wallet rules from API.md. Amounts are integer points. */
export const MIN_CHARGE = 1;
export const MAX_CHARGE = 1_000_000;
export const BALANCE_LIMIT = 100_000_000;

export type PointKind = 'CHARGE' | 'USE';

export interface PointHistoryEntry {
  readonly userId: string;
  readonly kind: PointKind;
  readonly amount: number;
  readonly balanceAfter: number;
  readonly at: Date;
}

export interface Balance {
  readonly userId: string;
  readonly balance: number;
}
