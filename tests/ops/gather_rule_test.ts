/** `io-batch-delay` in the `ffi` backend ({@link GatherRule}): when the I/O loop waits. */

import assert from "node:assert/strict";
import { GatherRule } from "../../src/server/io/gather_rule.ts";

/** Feed `rounds` (datagrams per cycle, `F` suffix: a receive filled its batch) and record. */
function decisions(rounds: (number | `${number}F`)[], delayMs = 1): boolean[] {
  const rule = new GatherRule();
  return rounds.map((round) => {
    const full = typeof round === "string";
    rule.received(full ? Number(round.slice(0, -1)) : round, full);
    const wait = rule.shouldWait(delayMs);
    if (wait) rule.waited();
    return wait;
  });
}

Deno.test("gather rule: requests one by one are waited for, and the wait keeps gathering", () => {
  // 1 request woke the loop; the delay gathered 5, then 4: keep waiting, no wake-up per request.
  assert.deepEqual(decisions([1, 5, 4, 6]), [true, true, true, true]);
  // Nothing arrived during the wait: the loop blocks (no wait after an empty cycle).
  assert.deepEqual(decisions([1, 0, 1]), [true, false, true]);
});

Deno.test("gather rule: a group that arrived on its own, or a full batch, is not held back", () => {
  // A burst of 5 woke the loop (not gathered by a wait): no wait after it.
  assert.deepEqual(decisions([5, 3]), [false, false]);
  // The wait gathered a whole batch (64): more are queued, receive them at once.
  assert.deepEqual(decisions([1, "64F", 10]), [true, false, false]);
});

Deno.test("gather rule: io-batch-delay 0 never waits", () => {
  assert.deepEqual(decisions([1, 1, 5], 0), [false, false, false]);
});

Deno.test("gather rule: after waiting for lookups, a group is not taken for a gathered one", () => {
  const rule = new GatherRule();
  rule.received(1, false);
  assert.equal(rule.shouldWait(1), true);
  rule.waited();
  rule.lookupsWaited();
  rule.received(5, false);
  assert.equal(rule.shouldWait(1), false);
});
