const SUFFIX_BITS = 48n;
const SUFFIX_MASK = (1n << SUFFIX_BITS) - 1n;
const TIMESTAMP_MASK = (1n << 40n) - 1n;

/**
 * Unique 64-bit request IDs in etcd's layout: the top 16 bits are the low 16
 * bits of the member ID, the next 40 bits the start time in Unix
 * milliseconds, the low 8 bits a counter; the counter carries into the
 * timestamp. IDs from one generator are distinct for 2^48 calls, and distinct
 * from another member's while their member-ID bits differ.
 */
export class IdGenerator {
  private readonly prefix: bigint;
  private suffix: bigint;

  constructor(memberId: bigint, nowMs: number = Date.now()) {
    this.prefix = (memberId & 0xffffn) << SUFFIX_BITS;
    this.suffix = (BigInt(Math.floor(nowMs)) & TIMESTAMP_MASK) << 8n;
  }

  next(): bigint {
    this.suffix = (this.suffix + 1n) & SUFFIX_MASK;
    return this.prefix | this.suffix;
  }
}
