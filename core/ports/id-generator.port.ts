export interface IdGenerator {
  /** A new unique, opaque id. */
  next(): string;
}
