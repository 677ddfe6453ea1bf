/**
 * `io-batch-delay` in the `deno` backend ({@link BatchDelay}): when it waits and when not.
 */

import assert from "node:assert/strict";
import { BatchDelay } from "../../src/server/io/deno_backend.ts";

/** A BatchDelay whose sleeps are recorded and take `took(ms)` instead of blocking. */
function recording(seconds: number, took: (ms: number) => number = (ms) => ms) {
  const sleeps: number[] = [];
  const delay = new BatchDelay(() => seconds, (ms) => {
    sleeps.push(ms);
    return took(ms);
  });
  return { delay, sleeps };
}

Deno.test("deno batch delay: waits the configured time after one or two requests", () => {
  const { delay, sleeps } = recording(0.001);
  delay.after(1);
  delay.after(2);
  assert.deepEqual(sleeps, [1, 1]);
});

Deno.test("deno batch delay: no wait after a larger batch, an empty one, or with the delay off", () => {
  const { delay, sleeps } = recording(0.001);
  delay.after(3);
  delay.after(40);
  delay.after(0);
  assert.deepEqual(sleeps, []);
  const off = recording(0);
  off.delay.after(1);
  assert.deepEqual(off.sleeps, []);
});

Deno.test("deno batch delay: a wait that overran (a starved core) skips the next one", () => {
  let overrun = true;
  const { delay, sleeps } = recording(0.001, (ms) => overrun ? 5 * ms : ms);
  delay.after(1); // slept 5 ms instead of 1
  overrun = false;
  delay.after(1); // skipped
  delay.after(1);
  delay.after(1);
  assert.deepEqual(sleeps, [1, 1, 1]);
});

Deno.test("deno batch delay: the real wait blocks for about the delay", () => {
  const delay = new BatchDelay(() => 0.005);
  const start = performance.now();
  delay.after(1);
  assert.ok(performance.now() - start >= 4.5);
});
