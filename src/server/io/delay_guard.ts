/**
 * `io-batch-delay auto` for the `ffi` backend: the delay the I/O loop waits before its next
 * receive, adjusted to what the requests' own reply delays show (see {@link DelayGuard}).
 * @module
 */

/**
 * The reply delay, from the kernel's receive to our send, over which a request counts as late:
 * the promise is a 99th percentile of 2 ms at the client, and the server does not see the last
 * tens of microseconds (its own send and the wire).
 */
export const LATENCY_BUDGET_MS = 1.9;

/**
 * Requests answered in this long after the first one are not judged: V8 is still compiling the
 * request path, and the slow answers of a server's first second say nothing about the host. (The
 * I/O loop starts its guard at the floor, so what V8 makes late later on can only hold it there.)
 */
export const WARMUP_MS = 1000;

/**
 * What a wait may overrun the delay asked for and still count as the wait's: the timer's own
 * lateness (wake-up and timer slack, about 50-90 us on our VMs). A longer overrun is a stall of
 * the host, which would have held the request back without the wait too.
 */
export const OVERSLEEP_MS = 0.1;

/**
 * How much of a request's reply delay the wait before its receive added, in ms: from the wait's
 * start or the request's arrival, whichever is later, to the wait's end, at most the delay asked
 * for plus {@link OVERSLEEP_MS}; 0 without a wait (`waitEnd` NaN). All in one clock (the kernel's
 * receive timestamps: the time of day).
 */
export function waitAdded(
  arrival: number,
  waitStart: number,
  waitEnd: number,
  asked: number,
): number {
  if (waitEnd !== waitEnd) return 0;
  const waited = waitEnd - (arrival > waitStart ? arrival : waitStart);
  if (!(waited > 0)) return 0;
  const most = asked + OVERSLEEP_MS;
  return waited > most ? most : waited;
}

/** Requests per judgement of the delay (a window): a second at 5,000 requests a second. */
export const WINDOW_REQUESTS = 5000;

/** A window also ends after this long, when it holds at least {@link WINDOW_MIN_REQUESTS}. */
export const WINDOW_MS = 2000;

/** Fewer requests than this in {@link WINDOW_MS} are not judged (too few to tell a tail). */
export const WINDOW_MIN_REQUESTS = 100;

/**
 * More than this share of a window's requests late: the 99th percentile is near the budget. The
 * delay is halved if the wait is part of the reason (see {@link WAIT_SHARE}).
 */
export const LATE_SHARE = 0.008;

/** The wait is part of the reason when it made more than this share of the requests late. */
export const WAIT_SHARE = 0.002;

/**
 * The delay grows when one step more of waiting would leave the window far from halving: the late
 * requests plus those a step longer wait would have made late at most this share, or the wait's
 * own late ones plus those at most a quarter of it, in {@link CLEAN_WINDOWS} windows in a row.
 */
export const CLEAN_SHARE = LATE_SHARE / 2;

/**
 * Clean windows in a row before the delay grows by one {@link STEP_SHARE} of its maximum (or, for
 * a steady stream, to the maximum, then to the chained wait).
 */
export const CLEAN_WINDOWS = 2;

/** The delay grows in steps of this share of its maximum. */
export const STEP_SHARE = 1 / 8;

/**
 * The delay is never halved below this share of its maximum: with `auto`, 0.5 ms, the fixed
 * default before the guard, whose 99th percentile stayed under 2 ms on hosts with hiccups
 * (bench/load/PROFILE.md, round seven). Shorter waits cost more CPU per request than they save
 * in delay: where even that is too long, a host's stalls set the tail, not the wait.
 */
export const FLOOR_SHARE = 1 / 2;

/** Waits that gathered requests (see {@link DelayGuard.waitFilled}) a window needs to say how they come. */
export const MIN_WAITS = 20;

/**
 * Requests come as a steady stream when in at least this share of the waits that gathered
 * requests, the last one arrived in the wait's second half: a longer wait, and then the chained
 * wait, gather more per wake-up.
 */
export const STEADY_SHARE = 0.75;

/**
 * Requests come in bursts when in fewer than this share of those waits a request arrived in the
 * second half: a longer wait gathers nothing more and holds the bursts back, so the delay goes
 * back to its floor.
 */
export const BURSTY_SHARE = 0.5;

/**
 * Chooses the `io-batch-delay` of one I/O loop from the reply delays it measures, so that the 99th
 * percentile stays under {@link LATENCY_BUDGET_MS} where the wait can help it, with the longest
 * wait (the least CPU per request) that does. Each request's delay is the time from the kernel's
 * receive timestamp to the send of its reply. Of a request received after a wait, the part the
 * wait added is known too (from the wait's start or the request's arrival, whichever is later, to
 * the wait's end, at most the delay asked for), so the guard tells the requests that are late
 * because of the wait (without it they would have been in time) from those that a stall of the
 * host, a burst or a slow lookup made late anyway, which no wait can help.
 *
 * Per window of {@link WINDOW_REQUESTS} requests: when more than {@link LATE_SHARE} were late and
 * more than {@link WAIT_SHARE} because of the wait, the delay is halved, down to
 * {@link FLOOR_SHARE} of its maximum; after {@link CLEAN_WINDOWS} windows in a row in which one
 * step more of waiting would have left the window far from that (see {@link CLEAN_SHARE}), it
 * grows by one step, up to the maximum. Halving at once and growing slowly keeps the tail short
 * on a host whose hiccups come and go, and the CPU per request low on a quiet one.
 *
 * How the requests come decides how far the wait goes (see {@link DelayGuard.waitFilled}): a
 * steady stream, which keeps arriving until each wait's end, goes straight to the maximum, and
 * from there to the chained wait ({@link DelayGuard.chain}), in which the loop waits before every
 * receive, so that the stream costs one wake-up per delay. The chained wait is taken after
 * {@link CLEAN_WINDOWS} windows in which at most {@link CLEAN_SHARE} of the requests were late or
 * were answered without a wait so slowly that the whole delay more would have made them late, and
 * it is the first step given up when the wait makes requests late. Bursts, which arrive just after
 * a wait began, send the delay back to its floor at once: a longer wait gathers no more of them.
 */
export class DelayGuard {
  #max: number;
  #delay: number;
  #requests = 0;
  #late = 0;
  #lateForWait = 0;
  #atRisk = 0;
  #chainRisk = 0;
  #chain = false;
  #waits = 0;
  #filled = 0;
  #clean = 0;
  #windowStart = Number.NaN;
  #firstSeen = Number.NaN;
  #warm = false;
  /** How often the wait was shortened: unchained, halved or sent back to its floor. */
  lowered = 0;
  /** How often it grew: by a step, to the maximum, or to the chained wait. */
  raised = 0;

  /** The most the delay may be is `maxMs`; start at `startMs` (by default the most). */
  constructor(maxMs: number, startMs = maxMs) {
    this.#max = Math.max(0, maxMs);
    this.#delay = Math.min(this.#max, Math.max(this.#max * FLOOR_SHARE, startMs));
  }

  /** The delay to wait now, in ms. */
  get delayMs(): number {
    return this.#delay;
  }

  /**
   * Whether the loop waits the delay before every receive (also after a wait that gathered
   * requests), not only after a round of one or two: one wake-up per delay while requests keep
   * coming. The guard's last step up, taken only at the maximum delay (see {@link DelayGuard}).
   */
  get chain(): boolean {
    return this.#chain;
  }

  /**
   * The most the delay may be, in ms; a smaller maximum (a reload) takes effect at once, and a
   * new one ends the chained wait until clean windows at it chain again.
   */
  get maxMs(): number {
    return this.#max;
  }

  set maxMs(ms: number) {
    ms = Math.max(0, ms);
    if (ms === this.#max) return;
    this.#max = ms;
    this.#delay = Math.min(ms, Math.max(ms * FLOOR_SHARE, this.#delay));
    this.#chain = false; // judged again at the new maximum
  }

  /**
   * A wait gathered requests, and the last of them arrived in its second half (`filled`) or
   * before. Windows with enough of these tell a steady stream, which fills every wait (a longer
   * one gathers more), from bursts, which arrive just after a wait began (a longer one only holds
   * them back): see {@link STEADY_SHARE}, {@link BURSTY_SHARE}.
   */
  waitFilled(filled: boolean): void {
    if (!this.#warm) return;
    this.#waits++;
    if (filled) this.#filled++;
  }

  /**
   * One request answered `replyMs` after the kernel received it, of which the wait before its
   * receive added `waitedMs` (0 when it was received without a wait; see {@link waitAdded}).
   * `now` is a monotonic clock in ms, for the warm-up and to end windows at low rates.
   */
  observe(replyMs: number, waitedMs: number, now: number): void {
    if (!(replyMs >= 0) || replyMs > 60_000) return; // the clock stepped: not a measurement
    if (!this.#warm) {
      if (this.#firstSeen !== this.#firstSeen) this.#firstSeen = now;
      if (now - this.#firstSeen < WARMUP_MS) return;
      this.#warm = true;
    }
    if (replyMs > LATENCY_BUDGET_MS) {
      this.#late++;
      if (replyMs - waitedMs <= LATENCY_BUDGET_MS) this.#lateForWait++;
    } else if (waitedMs > 0 && replyMs + this.#max * STEP_SHARE > LATENCY_BUDGET_MS) {
      // One step more of waiting would have added at most a step to a request that waited.
      this.#atRisk++;
    } else if (waitedMs === 0 && replyMs + this.#max > LATENCY_BUDGET_MS) {
      // Received without a wait: a chained wait would have added up to the whole delay.
      this.#chainRisk++;
    }
    if (this.#requests++ === 0) this.#windowStart = now;
    if (
      this.#requests >= WINDOW_REQUESTS ||
      (now - this.#windowStart >= WINDOW_MS && this.#requests >= WINDOW_MIN_REQUESTS)
    ) this.#judge();
  }

  /**
   * Whether the window leaves room for more waiting, given `risk` requests that it would make
   * late: the late ones plus those at most {@link CLEAN_SHARE}, or the wait's own late ones plus
   * those at most a quarter of it (late requests a stall made are not the wait's to fix).
   */
  #inTime(risk: number): boolean {
    const n = this.#requests;
    return this.#late + risk <= n * CLEAN_SHARE || this.#lateForWait + risk <= n * CLEAN_SHARE / 4;
  }

  #judge(): void {
    const n = this.#requests;
    const floor = this.#max * FLOOR_SHARE;
    const share = this.#waits >= MIN_WAITS ? this.#filled / this.#waits : NaN;
    const steady = share >= STEADY_SHARE, bursty = share < BURSTY_SHARE; // false for NaN
    // At least two late requests either way: at a low rate one would be a share on its own.
    if (
      this.#late > Math.max(1, n * LATE_SHARE) && this.#lateForWait > Math.max(1, n * WAIT_SHARE)
    ) {
      if (this.#chain) {
        this.#chain = false;
        this.lowered++;
      } else if (this.#delay > floor) {
        this.#delay = Math.max(floor, this.#delay / 2);
        this.lowered++;
      }
      this.#clean = 0;
    } else if (bursty) {
      // Waiting longer gathers nothing more here: back to the least wait, and no growing.
      if (this.#chain || this.#delay > floor) {
        this.#chain = false;
        this.#delay = floor;
        this.lowered++;
      }
      this.#clean = 0;
    } else if (this.#delay < this.#max && this.#inTime(this.#atRisk)) {
      if (++this.#clean >= CLEAN_WINDOWS) {
        this.#clean = 0;
        // A steady stream goes straight to the maximum; otherwise a step at a time.
        const step = this.#max * STEP_SHARE;
        this.#delay = steady ? this.#max : Math.min(this.#max, this.#delay + step);
        this.raised++;
      }
    } else if (
      !this.#chain && steady && this.#delay === this.#max && this.#max > 0 &&
      this.#inTime(this.#chainRisk)
    ) {
      if (++this.#clean >= CLEAN_WINDOWS) {
        this.#clean = 0;
        this.#chain = true;
        this.raised++;
      }
    } else {
      this.#clean = 0;
    }
    this.#requests = 0;
    this.#late = 0;
    this.#lateForWait = 0;
    this.#atRisk = 0;
    this.#chainRisk = 0;
    this.#waits = 0;
    this.#filled = 0;
  }
}
