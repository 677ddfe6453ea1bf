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
 * Decides, once per loop turn without lookups pending, whether to wait the batch delay:
 * - after a cycle of at most {@link COALESCE_BELOW} datagrams (they arrive one by one), and
 * - after a cycle the previous wait gathered (keep gathering: blocking instead would wake the
 *   thread for the next request alone), unless a receive filled its whole batch (more are
 *   queued, so waiting would only hold them back).
 *
 * A larger cycle that arrived on its own already came as a group: no wait after it.
 */
export class GatherRule {
  #packets = 0;
  #full = false;
  #gathering = false;

  /** A round of the cycle received `packets` datagrams; `full`: a receive filled its batch. */
  received(packets: number, full: boolean): void {
    this.#packets += packets;
    this.#full ||= full;
  }

  /**
   * Whether to wait now (with a delay of `delayMs`); starts the next cycle. Call {@link waited}
   * once the wait is done.
   */
  shouldWait(delayMs: number): boolean {
    const gathered = this.#gathering && !this.#full;
    const wait = delayMs > 0 && this.#packets > 0 && (this.#packets <= COALESCE_BELOW || gathered);
    this.#packets = 0;
    this.#full = false;
    this.#gathering = false;
    return wait;
  }

  /** The delay was waited: what the next cycle receives, it gathered. */
  waited(): void {
    this.#gathering = true;
  }

  /** The loop waited for lookups instead: what it receives next was not gathered by a delay. */
  lookupsWaited(): void {
    this.#gathering = false;
  }
}
