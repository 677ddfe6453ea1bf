/**
 * When the `ffi` backend's I/O loop waits `io-batch-delay` before its next receive, so that
 * requests arriving one by one share a wake-up (see {@link GatherRule}).
 * @module
 */

/**
 * A cycle (what the loop received since it last blocked in `epoll_wait` or waited the delay)
 * with at most this many datagrams means requests arrive one by one.
 */
export const COALESCE_BELOW = 2;

/**
 * Decides, once per loop turn without lookups pending, whether to wait the batch delay: after a
 * cycle of at most {@link COALESCE_BELOW} datagrams (they arrive one by one). A larger cycle
 * already came as a group, and so did the requests a wait gathered: after them the loop blocks
 * until the next request instead. (Waiting again after a gathered cycle saves a further 6-17 %
 * of the CPU per request at 5,000/s, depending on the host, but it held more requests back: the
 * 99th percentile of the reply delay went over 2 ms more often in the load benchmark; see
 * bench/load/PROFILE.md, rounds six and eight.)
 */
export class GatherRule {
  #packets = 0;

  /** A round of the cycle received `packets` datagrams. */
  received(packets: number): void {
    this.#packets += packets;
  }

  /**
   * Whether to wait now (with a delay of `delayMs`); starts the next cycle. With `chain`, after
   * any cycle that received requests (see `DelayGuard.chain`).
   */
  shouldWait(delayMs: number, chain = false): boolean {
    const wait = delayMs > 0 && this.#packets > 0 && (chain || this.#packets <= COALESCE_BELOW);
    this.#packets = 0;
    return wait;
  }
}
