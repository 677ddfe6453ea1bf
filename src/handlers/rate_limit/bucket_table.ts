/**
 * A fixed-size table of token buckets in a `SharedArrayBuffer`, updated with `Atomics` so every
 * worker sees and changes the same buckets without locks.
 *
 * Each slot holds two 64-bit integers: a 64-bit hash of the key (0 = empty) and the bucket state
 * as a "theoretical arrival time" (GCRA, equivalent to a token bucket): a request at time `now`
 * is allowed when `tat - now <= tolerance`, and then `tat = max(tat, now) + interval`. With
 * `interval = per / rate` and `tolerance = (burst - 1) * interval` this is exactly a bucket of
 * `burst` tokens refilled at `rate / per` tokens per second. A bucket with `tat <= now` is full,
 * i.e. indistinguishable from a new one, so it can be handed to another key at any time.
 *
 * Memory is bounded: a key lives in one of {@link PROBE} slots after its hash position. When all
 * are taken, the slot with the oldest state is reused (idle, full buckets first); under extreme
 * key churn an evicted client therefore gets a fresh bucket (errs on the side of answering).
 * @module
 */

/** How many slots a key may occupy after its home position. */
export const PROBE = 8;

/** Bytes needed for a table of `slots` slots (rounded up to a power of two). */
export function tableBytes(slots: number): number {
  let n = 1;
  while (n < slots) n *= 2;
  return n * 16;
}

function hash32(text: string, seed: number): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 64-bit, never-zero hash of `key`. */
export function keyHash(key: string): bigint {
  const h = BigInt.asIntN(
    64,
    (BigInt(hash32(key, 0x811c9dc5)) << 32n) | BigInt(hash32(key, 0x2f0f1e3d)),
  );
  return h === 0n ? 1n : h;
}

/** Token buckets shared between workers. */
export class SharedTokenBuckets {
  readonly #slots: BigInt64Array;
  readonly #mask: number;

  /** Use `buffer` (its size a power of two times 16 bytes) as the table. */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.#slots = new BigInt64Array(buffer);
    const n = this.#slots.length / 2;
    if (n < 1 || (n & (n - 1)) !== 0) throw new RangeError("table size must be a power of two");
    this.#mask = n - 1;
  }

  /** Number of slots. */
  get size(): number {
    return this.#mask + 1;
  }

  /**
   * Take one token from `key`'s bucket; false when it is empty. Times in microseconds:
   * `interval` between tokens, `tolerance` = (burst - 1) * interval, `now` the current time.
   */
  take(key: string, interval: bigint, tolerance: bigint, now: bigint): boolean {
    const a = this.#slots;
    const h = keyHash(key);
    const home = Number(h & BigInt(this.#mask));
    for (let attempt = 0; attempt < 4; attempt++) {
      let victim = -1;
      let victimHash = 0n;
      let victimTat = 0n;
      for (let i = 0; i < PROBE; i++) {
        const slot = (home + i) & this.#mask;
        const current = Atomics.load(a, slot * 2);
        if (current === h) return this.#update(slot, interval, tolerance, now);
        if (current === 0n) {
          const before = Atomics.compareExchange(a, slot * 2, 0n, h);
          if (before === 0n || before === h) return this.#update(slot, interval, tolerance, now);
          continue;
        }
        const tat = Atomics.load(a, slot * 2 + 1);
        if (victim < 0 || tat < victimTat) {
          victim = slot;
          victimHash = current;
          victimTat = tat;
        }
      }
      // Every slot in reach belongs to another key: reuse the one with the oldest state.
      if (Atomics.compareExchange(a, victim * 2, victimHash, h) === victimHash) {
        Atomics.compareExchange(a, victim * 2 + 1, victimTat, 0n);
        return this.#update(victim, interval, tolerance, now);
      }
    }
    return true;
  }

  #update(slot: number, interval: bigint, tolerance: bigint, now: bigint): boolean {
    const a = this.#slots;
    const index = slot * 2 + 1;
    for (;;) {
      const tat = Atomics.load(a, index);
      const start = tat > now ? tat : now;
      if (start - now > tolerance) return false;
      if (Atomics.compareExchange(a, index, tat, start + interval) === tat) return true;
    }
  }
}
