/**
 * `io-batch-delay auto` ({@link DelayGuard}): the wait is halved when requests are late because
 * of it, not when something else made them late, and grows back slowly while a longer wait
 * would keep them in time.
 */

import assert from "node:assert/strict";
import {
  BURSTY_SHARE,
  CLEAN_SHARE,
  CLEAN_WINDOWS,
  DelayGuard,
  LATE_SHARE,
  LATENCY_BUDGET_MS,
  MIN_WAITS,
  OVERSLEEP_MS,
  STEADY_SHARE,
  WAIT_SHARE,
  waitAdded,
  WARMUP_MS,
  WINDOW_MIN_REQUESTS,
  WINDOW_MS,
  WINDOW_REQUESTS,
} from "../../src/server/io/delay_guard.ts";

/** A guard with at most `maxMs` whose warm-up is over at {@link WARMUP_MS} (it saw a request at 0). */
function warmGuard(maxMs = 1): DelayGuard {
  const g = new DelayGuard(maxMs);
  g.observe(0.3, 0, 0);
  return g;
}

/**
 * Feed one window of requests: `late` of them answered after `lateReplyMs` (by default 0.2 ms
 * over the budget) of which the wait added `waitedMs` (0.5), then `anyway` that a stall made
 * late (1.5 ms over the budget, 0.5 of it the wait's); the rest in time.
 */
function window(
  guard: DelayGuard,
  opts: {
    late?: number;
    waitedMs?: number;
    lateReplyMs?: number;
    anyway?: number;
    /** Waits that gathered requests: how many, and the share whose requests filled them. */
    waits?: number;
    filled?: number;
  } = {},
  now = WARMUP_MS,
): void {
  const late = opts.late ?? 0, anyway = opts.anyway ?? 0;
  const waits = opts.waits ?? 0;
  for (let i = 0; i < WINDOW_REQUESTS; i++) {
    // After the first request (which may end the warm-up), before the last (which judges).
    if (i === 1) {
      for (let k = 0; k < waits; k++) guard.waitFilled(k < waits * (opts.filled ?? 1));
    }
    if (i < late) {
      guard.observe(opts.lateReplyMs ?? LATENCY_BUDGET_MS + 0.2, opts.waitedMs ?? 0.5, now);
    } else if (i < late + anyway) guard.observe(LATENCY_BUDGET_MS + 1.5, 0.5, now);
    else guard.observe(0.3, 0.2, now);
  }
}

const overLimit = Math.floor(WINDOW_REQUESTS * LATE_SHARE) + 1;

Deno.test("delay guard: starts at its maximum and stays there while requests are in time", () => {
  const g = warmGuard(1);
  assert.equal(g.delayMs, 1);
  for (let w = 0; w < 20; w++) window(g);
  assert.equal(g.delayMs, 1);
  assert.equal(g.lowered, 0);
});

Deno.test("delay guard: halves the wait when more than its share are late because of it", () => {
  const g = warmGuard(1);
  window(g, { late: overLimit - 1 });
  assert.equal(g.delayMs, 1, "at the limit: no change");
  window(g, { late: overLimit });
  assert.equal(g.delayMs, 0.5);
  window(g, { late: overLimit });
  assert.equal(g.delayMs, 0.5, "never below half of the maximum");
  assert.equal(g.lowered, 1);
  const h = warmGuard(2);
  window(h, { late: overLimit });
  window(h, { late: overLimit });
  window(h, { late: overLimit });
  assert.equal(h.delayMs, 1);
  assert.equal(h.lowered, 1);
});

Deno.test("delay guard: requests a stall made late (late even without the wait) change nothing", () => {
  const g = warmGuard(1);
  // Replies 1.5 ms over the budget, of which the wait added 0.5 ms: over it anyway.
  for (let w = 0; w < 10; w++) window(g, { anyway: overLimit * 3 });
  assert.equal(g.delayMs, 1);
  // Late requests that did not wait at all are not the wait's doing either.
  for (let w = 0; w < 10; w++) {
    window(g, { late: overLimit * 3, lateReplyMs: LATENCY_BUDGET_MS + 0.3, waitedMs: 0 });
  }
  assert.equal(g.delayMs, 1);
  // Many late, but the wait's share of them too small to matter: no change; one more: halved.
  const forWait = Math.floor(WINDOW_REQUESTS * WAIT_SHARE);
  window(g, { late: forWait, anyway: overLimit });
  assert.equal(g.delayMs, 1);
  assert.equal(g.lowered, 0);
  window(g, { late: forWait + 1, anyway: overLimit });
  assert.equal(g.delayMs, 0.5);
});

Deno.test("delay guard: grows back by steps after clean windows, up to the maximum", () => {
  const g = warmGuard(1);
  window(g, { late: overLimit });
  assert.equal(g.delayMs, 0.5);
  for (let w = 1; w < CLEAN_WINDOWS; w++) window(g);
  assert.equal(g.delayMs, 0.5, "not before CLEAN_WINDOWS clean windows");
  window(g);
  assert.equal(g.delayMs, 0.625);
  for (let w = 0; w < CLEAN_WINDOWS * 10; w++) window(g);
  assert.equal(g.delayMs, 1, "never past the maximum");
  assert.equal(g.raised, 4);
  assert.equal(g.chain, false, "no chained wait without a steady stream");
});

/** A window in which every wait that gathered requests was filled to its end: a steady stream. */
const steady = { waits: 100 };

Deno.test("delay guard: chains its waits at the maximum after clean windows; unchains first", () => {
  const g = warmGuard(1);
  assert.equal(g.chain, false, "a fresh guard waits only after a round of one or two");
  for (let w = 1; w < CLEAN_WINDOWS; w++) window(g, steady);
  assert.equal(g.chain, false, "not before CLEAN_WINDOWS clean windows");
  window(g, steady);
  assert.equal(g.chain, true);
  assert.equal(g.delayMs, 1);
  // Late because of the wait: the chained wait goes first, the delay stays.
  window(g, { late: overLimit, ...steady });
  assert.equal(g.chain, false);
  assert.equal(g.delayMs, 1);
  assert.equal(g.lowered, 1);
  // Still late: now the delay is halved, and the chain does not come back below the maximum.
  window(g, { late: overLimit, ...steady });
  assert.equal(g.delayMs, 0.5);
  for (let w = 0; w < CLEAN_WINDOWS; w++) window(g);
  assert.equal(g.delayMs, 0.625);
  assert.equal(g.chain, false);
  // A new maximum (a reload) unchains at once.
  const h = warmGuard(1);
  for (let w = 0; w < CLEAN_WINDOWS; w++) window(h, steady);
  assert.equal(h.chain, true);
  h.maxMs = 0.5;
  assert.equal(h.chain, false);
});

Deno.test("delay guard: no chained wait while requests that did not wait are near the budget", () => {
  const g = warmGuard(1);
  // Answered without a wait, 1.2 ms after arrival: a whole 1 ms wait more would make them late.
  const near = Math.floor(WINDOW_REQUESTS * CLEAN_SHARE) + 1;
  for (let w = 0; w < CLEAN_WINDOWS * 3; w++) {
    window(g, { late: near, lateReplyMs: LATENCY_BUDGET_MS - 0.7, waitedMs: 0, ...steady });
  }
  assert.equal(g.chain, false);
  assert.equal(g.raised, 0);
  // Within the clean share: chained after CLEAN_WINDOWS.
  for (let w = 0; w < CLEAN_WINDOWS; w++) {
    window(g, { late: near - 1, lateReplyMs: LATENCY_BUDGET_MS - 0.7, waitedMs: 0, ...steady });
  }
  assert.equal(g.chain, true);
});

Deno.test("delay guard: does not grow while a longer wait would make requests late", () => {
  const g = warmGuard(1);
  window(g, { late: overLimit });
  assert.equal(g.delayMs, 0.5);
  // In time, but within one step (1/8 ms) of the budget after waiting: a longer wait would not be.
  const close = LATENCY_BUDGET_MS - 0.05;
  const atRisk = Math.floor(WINDOW_REQUESTS * CLEAN_SHARE) + 1;
  for (let w = 0; w < CLEAN_WINDOWS * 3; w++) {
    window(g, { late: atRisk, lateReplyMs: close, waitedMs: 0.4 });
  }
  assert.equal(g.delayMs, 0.5);
  // A window with requests at risk in between starts the count of clean ones again.
  for (let w = 0; w < CLEAN_WINDOWS - 1; w++) window(g);
  window(g, { late: atRisk, lateReplyMs: close, waitedMs: 0.4 });
  for (let w = 0; w < CLEAN_WINDOWS - 1; w++) window(g);
  assert.equal(g.delayMs, 0.5);
  window(g);
  assert.equal(g.delayMs, 0.625);
});

Deno.test("delay guard: a steady stream goes straight to the maximum, then chains", () => {
  const g = new DelayGuard(1, 0.5);
  g.observe(0.3, 0, 0);
  assert.equal(g.delayMs, 0.5, "started at its floor");
  // Too few waits that gathered requests say nothing: a step at a time.
  for (let w = 0; w < CLEAN_WINDOWS; w++) window(g, { waits: MIN_WAITS - 1 });
  assert.equal(g.delayMs, 0.625);
  for (let w = 0; w < CLEAN_WINDOWS; w++) window(g, steady);
  assert.equal(g.delayMs, 1);
  for (let w = 0; w < CLEAN_WINDOWS; w++) {
    window(g, { waits: 100, filled: STEADY_SHARE });
  }
  assert.equal(g.chain, true, "at the steady share");
  assert.equal(g.raised, 3);
  // Between the two shares: no change either way.
  for (let w = 0; w < CLEAN_WINDOWS * 2; w++) window(g, { waits: 100, filled: 0.6 });
  assert.equal(g.chain, true);
  assert.equal(g.lowered, 0);
});

Deno.test("delay guard: bursts further apart than the wait send it back to its floor", () => {
  const g = warmGuard(1);
  for (let w = 0; w < CLEAN_WINDOWS; w++) window(g, steady);
  assert.equal(g.chain, true);
  // The waits' requests came near their start (bursts): one window is enough.
  window(g, { waits: 100, filled: BURSTY_SHARE - 0.01 });
  assert.equal(g.chain, false);
  assert.equal(g.delayMs, 0.5);
  assert.equal(g.lowered, 1);
  // It stays there while the bursts go on, though no request is late.
  for (let w = 0; w < CLEAN_WINDOWS * 3; w++) window(g, { waits: 100, filled: 0.1 });
  assert.equal(g.delayMs, 0.5);
  assert.equal(g.lowered, 1, "at the floor: nothing more to lower");
  // Waits before the warm-up's end are not counted.
  const h = new DelayGuard(1);
  for (let i = 0; i < 1000; i++) h.waitFilled(false);
  h.observe(0.3, 0, 0);
  window(h, {}, WARMUP_MS);
  assert.equal(h.delayMs, 1);
});

Deno.test("delay guard: a window also ends by time, but not with too few requests", () => {
  const g = warmGuard(1);
  // Too few requests in a long time: not judged, however late.
  for (let i = 0; i < WINDOW_MIN_REQUESTS - 1; i++) {
    g.observe(LATENCY_BUDGET_MS + 0.3, 0.9, WARMUP_MS + i * 100);
  }
  assert.equal(g.delayMs, 1, "WINDOW_MS passed, but fewer than the minimum requests");
  g.observe(LATENCY_BUDGET_MS + 0.3, 0.9, WARMUP_MS + WINDOW_MS * 10);
  assert.equal(g.delayMs, 0.5, "the 100th request ends the window: all late, halved");
  const h = warmGuard(1);
  for (let i = 0; i < WINDOW_MIN_REQUESTS - 1; i++) {
    h.observe(LATENCY_BUDGET_MS + 0.3, 0.9, WARMUP_MS);
  }
  assert.equal(h.delayMs, 1, "fewer than the minimum: nothing judged yet");
});

Deno.test("delay guard: a smaller maximum (a reload) applies at once; clock steps are ignored", () => {
  const g = warmGuard(1);
  g.maxMs = 0.5;
  assert.equal(g.delayMs, 0.5);
  g.maxMs = 2;
  assert.equal(g.delayMs, 1, "a larger maximum: up to its floor at once, then by steps");
  assert.equal(g.maxMs, 2);
  for (let i = 0; i < WINDOW_REQUESTS * 3; i++) {
    g.observe(-5, 0, WARMUP_MS);
    g.observe(Number.NaN, 0, WARMUP_MS);
    g.observe(120_000, 0, WARMUP_MS);
  }
  assert.equal(g.delayMs, 1);
  assert.equal(g.lowered + g.raised, 0, "no window was filled by them");
});

Deno.test("delay guard: grows while a stall makes requests late, if the wait makes none", () => {
  const g = warmGuard(1);
  window(g, { late: overLimit });
  assert.equal(g.delayMs, 0.5);
  // Late requests the wait did not cause, far more than the clean share: the wait grows anyway.
  for (let w = 0; w < CLEAN_WINDOWS; w++) window(g, { anyway: overLimit * 2 });
  assert.equal(g.delayMs, 0.625);
  // But not while the wait makes a few late as well (more than a quarter of the clean share).
  const few = Math.floor((WINDOW_REQUESTS * CLEAN_SHARE) / 4) + 1;
  for (let w = 0; w < CLEAN_WINDOWS * 2; w++) window(g, { late: few, anyway: overLimit * 2 });
  assert.equal(g.delayMs, 0.625);
});

Deno.test("delay guard: the first seconds after the first request are not judged", () => {
  const g = new DelayGuard(1);
  // V8 compiling the request path: everything late for WARMUP_MS, then in time.
  window(g, { late: WINDOW_REQUESTS }, 0);
  window(g, { late: WINDOW_REQUESTS }, WARMUP_MS - 1);
  assert.equal(g.delayMs, 1);
  window(g, { late: overLimit }, WARMUP_MS);
  assert.equal(g.delayMs, 0.5, "judged from then on");
});

Deno.test("delay guard: steps are an eighth of the maximum; requests that did not wait risk nothing", () => {
  const g = warmGuard(2);
  window(g, { late: overLimit });
  assert.equal(g.delayMs, 1);
  // In time but close to the budget without having waited: a longer wait would not touch them.
  const close = LATENCY_BUDGET_MS - 0.05;
  const many = Math.floor(WINDOW_REQUESTS * CLEAN_SHARE) * 2;
  for (let w = 0; w < CLEAN_WINDOWS; w++) {
    window(g, { late: many, lateReplyMs: close, waitedMs: 0 });
  }
  assert.equal(g.delayMs, 1.25);
});

Deno.test("delay guard: at a low rate one late request is not a share", () => {
  const g = warmGuard(1);
  for (let i = 0; i < WINDOW_MIN_REQUESTS; i++) {
    g.observe(i === 0 ? LATENCY_BUDGET_MS + 0.3 : 0.3, i === 0 ? 0.9 : 0, WARMUP_MS + i * 30);
  }
  assert.equal(g.delayMs, 1, "one of 100 late");
  for (let i = 0; i < WINDOW_MIN_REQUESTS; i++) {
    g.observe(i < 2 ? LATENCY_BUDGET_MS + 0.3 : 0.3, i < 2 ? 0.9 : 0, WARMUP_MS + 3000 + i * 30);
  }
  assert.equal(g.delayMs, 0.5, "two of 100 late");
});

Deno.test("waitAdded: from the wait's start or the arrival, to its end, at most the delay asked", () => {
  // Arrived before the wait began (during the previous round): the whole wait.
  assert.equal(waitAdded(100, 101, 102, 1), 1);
  // Arrived during the wait: from the arrival.
  assert.equal(waitAdded(101.75, 101, 102, 1), 0.25);
  // Arrived after the wait ended, or no wait at all.
  assert.equal(waitAdded(102.5, 101, 102, 1), 0);
  assert.equal(waitAdded(100, Number.NaN, Number.NaN, 1), 0);
  // A wait that overran by a stall: only the asked delay and the timer's own lateness count.
  assert.equal(waitAdded(101, 101, 104, 1), 1 + OVERSLEEP_MS);
  assert.ok(Math.abs(waitAdded(101, 101, 102.05, 1) - 1.05) < 1e-9, "a timer's own lateness");
});
