import { randomBytes } from 'node:crypto';
import type { IdGenerator } from '../../core/ports/id-generator.port.js';

const TOKEN_BYTES = 16;
/** Tokens drawn per call to the CSPRNG. */
const BATCH = 256;

/**
 * Queue tokens: 128 bits from the OS's CSPRNG, base64url (22 characters,
 * safe in a header). A token is a capability, so it must be unguessable,
 * not just unique. The bytes are drawn 256 tokens at a time and each byte is
 * used once, as Node's randomUUID does: a randomBytes call per token cost
 * 2.8 µs on the benchmark VM (up to ~18 µs under load), the pool 0.4 µs.
 */
export class RandomTokenGenerator implements IdGenerator {
  private pool = Buffer.alloc(0);
  private offset = 0;

  next(): string {
    if (this.offset + TOKEN_BYTES > this.pool.length) {
      this.pool = randomBytes(TOKEN_BYTES * BATCH);
      this.offset = 0;
    }
    const token = this.pool.toString('base64url', this.offset, this.offset + TOKEN_BYTES);
    this.offset += TOKEN_BYTES;
    return token;
  }
}
