/**
 * Requests and replies per second over the last 15 minutes, for the looking glass's chart: the
 * main thread samples the global counters every few seconds (what workers counted reaches it
 * with their statistics); nothing is added to the request path.
 * @module
 */

/** One point of the chart: requests (`in`) and replies (`out`) per second up to time `t`. */
export interface RatePoint {
  /** End of the interval (milliseconds since the epoch). */
  t: number;
  /** Requests received per second over the interval. */
  in: number;
  /** Messages sent per second over the interval. */
  out: number;
}

/** The chart's data as `/rates.json` serves it. */
export interface RateSeries {
  /** When it was taken. */
  now: number;
  /** The window shown, in milliseconds. */
  window: number;
  /** Points, oldest first. */
  points: RatePoint[];
}

/** The last 15 minutes of counter samples. */
export class RateHistory {
  #points: RatePoint[] = [];
  #last?: { t: number; incoming: number; outgoing: number };

  /** Keep `windowMs` (default 15 minutes) of points. */
  constructor(readonly windowMs = 15 * 60_000) {}

  /** Record the cumulative counters at time `t`; a counter that went down restarts the series. */
  sample(t: number, incoming: number, outgoing: number): void {
    const last = this.#last;
    this.#last = { t, incoming, outgoing };
    if (!last || t <= last.t || incoming < last.incoming || outgoing < last.outgoing) return;
    const seconds = (t - last.t) / 1000;
    this.#points.push({
      t,
      in: Math.round(((incoming - last.incoming) / seconds) * 100) / 100,
      out: Math.round(((outgoing - last.outgoing) / seconds) * 100) / 100,
    });
    while (this.#points.length && this.#points[0].t < t - this.windowMs) this.#points.shift();
  }

  /** The points of the window ending at `now`. */
  series(now = Date.now()): RateSeries {
    return {
      now,
      window: this.windowMs,
      points: this.#points.filter((p) => p.t >= now - this.windowMs),
    };
  }
}
