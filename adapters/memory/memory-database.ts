import type { Tick } from './tick.js';
import { immediateTick } from './tick.js';

type Table = Map<string, unknown>;

/**
 * An in-process store that behaves like Postgres READ COMMITTED for the
 * operations the repositories use: a transaction's writes are invisible to
 * others until commit, a written row stays write-locked until commit or
 * rollback (others wait, then see the committed version), rollback discards.
 * That is what lets property tests find the same races a real database has.
 */
export class MemoryDatabase {
  private readonly tables = new Map<string, Table>();
  private readonly rowLocks = new Map<string, { owner: MemoryTransaction; waiters: (() => void)[] }>();
  /** Who waits for whom, for deadlock detection: a waiting transaction → the one holding the row it waits for. */
  private readonly waitsFor = new Map<MemoryTransaction, MemoryTransaction>();
  private sequence = 0;

  constructor(readonly tick: Tick = immediateTick) {}

  begin(): MemoryTransaction {
    return new MemoryTransaction(this);
  }

  /** A monotonic number, like a Postgres identity column (assigned at insert, gaps on rollback). */
  nextSequence(): number {
    return ++this.sequence;
  }

  committedTable(name: string): Table {
    let table = this.tables.get(name);
    if (table === undefined) {
      table = new Map();
      this.tables.set(name, table);
    }
    return table;
  }

  /** @internal */
  async lockRow(rowId: string, tx: MemoryTransaction): Promise<void> {
    while (!this.tryLockRow(rowId, tx)) await this.waitForRow(rowId, tx);
  }

  /** @internal Takes the row's lock if it is free (or already this transaction's); never waits. */
  tryLockRow(rowId: string, tx: MemoryTransaction): boolean {
    const lock = this.rowLocks.get(rowId);
    if (lock === undefined) {
      this.rowLocks.set(rowId, { owner: tx, waiters: [] });
      return true;
    }
    return lock.owner === tx;
  }

  /**
   * @internal Waits until another transaction's lock on the row is released,
   * without taking it. Answers false at once when no other transaction holds
   * it. Like Postgres, a wait that would close a cycle fails with a deadlock
   * error (SQLSTATE 40P01) instead of hanging.
   */
  async waitForRow(rowId: string, tx: MemoryTransaction): Promise<boolean> {
    const lock = this.rowLocks.get(rowId);
    if (lock === undefined || lock.owner === tx) return false;
    for (let owner: MemoryTransaction | undefined = lock.owner; owner !== undefined; owner = this.waitsFor.get(owner)) {
      if (owner === tx) throw new DeadlockError(rowId);
    }
    this.waitsFor.set(tx, lock.owner);
    try {
      await new Promise<void>((resolve) => lock.waiters.push(resolve));
    } finally {
      this.waitsFor.delete(tx);
    }
    return true;
  }

  /** @internal */
  unlockRows(rowIds: Iterable<string>): void {
    for (const rowId of rowIds) {
      const lock = this.rowLocks.get(rowId);
      this.rowLocks.delete(rowId);
      for (const wake of lock?.waiters ?? []) wake();
    }
  }
}

/** Two transactions wait for each other's rows; the one that would close the cycle fails, as in Postgres. */
export class DeadlockError extends Error {
  readonly code = '40P01';
  constructor(rowId: string) {
    super(`deadlock detected waiting for row ${rowId}`);
    this.name = 'DeadlockError';
  }
}

export class MemoryTransaction {
  private readonly writes = new Map<string, Map<string, unknown>>();
  private readonly lockedRows = new Set<string>();
  private ended = false;

  constructor(private readonly db: MemoryDatabase) {}

  /** The latest committed version, or this transaction's own write. */
  read<T>(table: string, key: string): T | undefined {
    const own = this.writes.get(table);
    if (own?.has(key) === true) return own.get(key) as T;
    return this.db.committedTable(table).get(key) as T | undefined;
  }

  /** Committed rows merged with this transaction's own writes. */
  rows<T>(table: string): T[] {
    const merged = new Map(this.db.committedTable(table));
    for (const [key, value] of this.writes.get(table) ?? []) merged.set(key, value);
    return [...merged.values()] as T[];
  }

  /** Takes the row's write lock, waiting for the transaction that holds it to end (like UPDATE or INSERT on a unique key). */
  async lockRow(table: string, key: string): Promise<void> {
    this.assertOpen();
    const rowId = `${table}/${key}`;
    await this.db.lockRow(rowId, this);
    this.lockedRows.add(rowId);
  }

  /** Takes the row's write lock only if no other transaction holds it (`FOR UPDATE SKIP LOCKED`); answers whether it did. */
  tryLockRow(table: string, key: string): boolean {
    this.assertOpen();
    const rowId = `${table}/${key}`;
    if (!this.db.tryLockRow(rowId, this)) return false;
    this.lockedRows.add(rowId);
    return true;
  }

  /**
   * Waits until another transaction holding the row's lock ends, without
   * taking the lock (as an INSERT waits on a unique-index entry that an open
   * transaction is changing). Answers whether it had to wait.
   */
  async waitForRow(table: string, key: string): Promise<boolean> {
    this.assertOpen();
    return this.db.waitForRow(`${table}/${key}`, this);
  }

  /** A monotonic number, like an identity or `clock_timestamp()` default: the order rows were written in. */
  nextSequence(): number {
    return this.db.nextSequence();
  }

  /** Writes a row whose lock this transaction holds. */
  write(table: string, key: string, row: unknown): void {
    this.assertOpen();
    if (!this.lockedRows.has(`${table}/${key}`)) throw new Error(`write to ${table}/${key} without its row lock`);
    this.ownTable(table).set(key, row);
  }

  /** Inserts a row with a fresh sequence key: no one else can write it, so no lock is needed. */
  insert(table: string, build: (id: number) => unknown): void {
    this.assertOpen();
    const id = this.db.nextSequence();
    this.ownTable(table).set(String(id), build(id));
  }

  commit(): void {
    this.assertOpen();
    for (const [table, rows] of this.writes) {
      const committed = this.db.committedTable(table);
      for (const [key, value] of rows) committed.set(key, value);
    }
    this.end();
  }

  rollback(): void {
    if (!this.ended) this.end();
  }

  private end(): void {
    this.ended = true;
    this.writes.clear();
    this.db.unlockRows(this.lockedRows);
    this.lockedRows.clear();
  }

  private ownTable(table: string): Map<string, unknown> {
    let rows = this.writes.get(table);
    if (rows === undefined) {
      rows = new Map();
      this.writes.set(table, rows);
    }
    return rows;
  }

  private assertOpen(): void {
    if (this.ended) throw new Error('transaction already ended');
  }
}
