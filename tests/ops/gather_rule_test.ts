/** `io-batch-delay` in the `ffi` backend ({@link GatherRule}): when the I/O loop waits. */

import assert from "node:assert/strict";
import { GatherRule } from "../../src/server/io/gather_rule.ts";

/** Feed `cycles` (datagrams received in each) and record whether the loop waits after each. */
function decisions(cycles: number[], delayMs = 1, chain = false): boolean[] {
  const rule = new GatherRule();
  return cycles.map((packets) => {
    rule.received(packets);
    return rule.shouldWait(delayMs, chain);
  });
}

Deno.test("gather rule: after one or two requests the loop waits; after a group it does not", () => {
  // 1 request woke the loop: wait; the wait gathered 5 (a group): block until the next one.
  assert.deepEqual(decisions([1, 5, 2, 3]), [true, false, true, false]);
  // Nothing arrived (an idle poll): no wait.
  assert.deepEqual(decisions([0, 1]), [false, true]);
});

Deno.test("gather rule: the rounds of one cycle add up", () => {
  const rule = new GatherRule();
  rule.received(1);
  rule.received(2);
  assert.equal(rule.shouldWait(1), false, "three datagrams since the last wait: a group");
  rule.received(1);
  assert.equal(rule.shouldWait(1), true);
});

Deno.test("gather rule: io-batch-delay 0 never waits", () => {
  assert.deepEqual(decisions([1, 1, 2], 0), [false, false, false]);
});

Deno.test("gather rule: chained, the loop waits after every cycle that received requests", () => {
  assert.deepEqual(decisions([1, 5, 2, 0, 1], 1, true), [true, true, true, false, true]);
  assert.deepEqual(decisions([1, 5], 0, true), [false, false], "io-batch-delay 0 never waits");
});
