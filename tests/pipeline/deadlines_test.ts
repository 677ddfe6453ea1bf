import assert from "node:assert/strict";
import { EXPIRED, SharedDeadlines } from "../../src/pipeline/deadlines.ts";

Deno.test("shared deadlines: requests of the same interval share one timer, cleared by the last", () => {
  const deadlines = new SharedDeadlines(60_000);
  const a = deadlines.acquire(1000);
  const b = deadlines.acquire(1000);
  assert.equal(a, b);
  assert.equal(deadlines.pending, 1);
  deadlines.release(a);
  assert.equal(deadlines.pending, 1, "b still waits");
  deadlines.release(b);
  assert.equal(deadlines.pending, 0, "the timer is gone (the test's sanitizer checks too)");
});

Deno.test("shared deadlines: a deadline falls due no earlier than asked, with EXPIRED", async () => {
  const deadlines = new SharedDeadlines(5);
  const start = performance.now();
  const d = deadlines.acquire(30);
  const other = deadlines.acquire(1000);
  assert.equal(deadlines.pending, 2, "deadlines far apart have timers of their own");
  assert.equal(await d.expired, EXPIRED);
  assert.ok(performance.now() - start >= 30, "not early");
  assert.equal(deadlines.pending, 1);
  deadlines.release(d); // after expiry: nothing to clear, the other group is kept
  assert.equal(deadlines.pending, 1);
  deadlines.release(other);
  assert.equal(deadlines.pending, 0);
});

Deno.test("shared deadlines: a deadline acquired again after its group expired gets a new timer", async () => {
  const deadlines = new SharedDeadlines(1);
  const d = deadlines.acquire(1);
  await d.expired;
  deadlines.release(d);
  const e = deadlines.acquire(1);
  assert.equal(deadlines.pending, 1);
  assert.equal(await e.expired, EXPIRED);
  deadlines.release(e);
  assert.equal(deadlines.pending, 0);
});
