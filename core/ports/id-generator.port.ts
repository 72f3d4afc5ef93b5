export interface IdGenerator {
  /** A new unique, opaque id. Ids that stand for a capability (queue tokens) must also be unguessable. */
  next(): string;
}
