/**
 * Asynchronous lookups in the pipeline (`Handler.lookup`): a request whose handlers have nothing
 * to wait for stays synchronous; one that waits resumes with what the lookup found; a failed,
 * late or surplus lookup drops the request and counts it, per scope.
 */

import assert from "node:assert/strict";
import {
  Filter,
  Handler,
  type HandleResult,
  type LookupControl,
  SCALAR_COUNTERS,
  StatisticsCategories,
  StatisticsStore,
  type TransactionBundle,
} from "../../src/pipeline/mod.ts";
import {
  InformationRequestMessage,
  parseMessage,
  RecursiveNameServersOption,
  RelayMessageOption,
  type RelayReplyMessage,
  Writer,
} from "../../src/protocol/mod.ts";
import { clientId, elapsed, packet, pipeline, relayed } from "./helpers.ts";

const info = (xid = 1) => new InformationRequestMessage(xid, [clientId(), elapsed(0)]);

/** What a test lookup does. */
type Behaviour = "undefined" | "resolve" | "reject" | "throw" | "never";

/** Looks up a DNS server (the address depends on the transaction id) and puts it in the reply. */
class DnsLookup extends Handler {
  calls = 0;
  constructor(readonly behaviour: Behaviour, readonly key: string = "dns") {
    super();
  }
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    this.calls++;
    switch (this.behaviour) {
      case "undefined":
        return undefined;
      case "throw":
        throw new Error("synchronous failure");
      case "reject":
        return new Promise((_, reject) => setTimeout(() => reject(new Error("database down")), 1));
      case "never":
        return new Promise(() => {});
      case "resolve":
        return new Promise((resolve) =>
          setTimeout(() => {
            bundle.handlerData.set(this.key, `2001:db8::${bundle.request.transactionId}`);
            resolve();
          }, 1)
        );
    }
  }
  override handle(bundle: TransactionBundle): void {
    const found = bundle.handlerData.get(this.key) as string | undefined;
    if (found) bundle.response.options.push(new RecursiveNameServersOption([found]));
  }
}

/** A control with `room` places, recording what the pipeline told it. */
function control(room = Infinity, timeoutMs = 1000) {
  const events: string[] = [];
  let waiting = 0;
  const c: LookupControl = {
    timeoutMs,
    enter() {
      if (waiting >= room) return false;
      waiting++;
      events.push("enter");
      return true;
    },
    leave(drop, reason) {
      waiting--;
      events.push(drop ? `leave ${drop}: ${reason}` : "leave");
    },
    overflow: () => events.push("overflow"),
    resume: (id) => events.push(`resume ${id ?? "-"}`),
  };
  return { control: c, events, waiting: () => waiting };
}

function counter(stats: StatisticsStore, name: string, key = "global"): number {
  return stats.sets.get(key)?.[SCALAR_COUNTERS.indexOf(name as typeof SCALAR_COUNTERS[number])] ??
    0;
}

function dnsOf(result: HandleResult): string[] {
  if (result.replies.length === 0) return [];
  let message = parseMessage(result.replies[0].data);
  while (message.type === 13) {
    message = (message as RelayReplyMessage).getOption(RelayMessageOption)!.message;
  }
  const option = message.options.find((o) => o instanceof RecursiveNameServersOption) as
    | RecursiveNameServersOption
    | undefined;
  return option?.addresses ?? [];
}

Deno.test("lookup: without one, or when it returns undefined, the answer comes at once", () => {
  for (const handlers of [[], [new DnsLookup("undefined")]]) {
    const c = control();
    const result = pipeline(handlers).handle(packet(info()), new StatisticsStore(), c.control);
    assert.ok(!(result instanceof Promise), "no promise");
    assert.equal(result.outcome, "reply");
    assert.deepEqual(c.events, [], "nothing waited");
  }
});

Deno.test("lookup: the request waits, resumes with what was found, in the lookup's order", async () => {
  const first = new DnsLookup("resolve", "first");
  const order: string[] = [];
  /** A second lookup that checks the first one finished before it started. */
  class Second extends Handler {
    override lookup(bundle: TransactionBundle): Promise<void> {
      order.push(`second sees ${bundle.handlerData.get("first")}`);
      return Promise.resolve();
    }
  }
  const c = control();
  const stats = new StatisticsStore();
  const writer = new Writer(4096);
  const pending = pipeline([first, new Second()]).handle(
    { ...packet(relayed(info(42), "2001:db8:1::1")), id: "#000042", replyWriter: writer },
    stats,
    c.control,
  );
  assert.ok(pending instanceof Promise, "a promise while the lookup runs");
  assert.equal(counter(stats, "incoming_packets"), 1, "received is counted at once");
  assert.equal(counter(stats, "outgoing_packets"), 0);
  const result = await pending;
  assert.equal(result.outcome, "reply");
  assert.deepEqual(dnsOf(result), ["2001:db8::42"]);
  assert.deepEqual(order, ["second sees 2001:db8::42"]);
  assert.deepEqual(c.events, ["enter", "leave", "resume #000042", "resume -"]);
  assert.equal(counter(stats, "outgoing_packets"), 1);
  // The batch's writer is long reset when a waiting request resumes: its reply has its own bytes.
  assert.equal(writer.pos, 0);
  assert.notEqual(result.replies[0].data.buffer, writer.buf.buffer);
});

Deno.test("lookup: a rejected or throwing lookup drops the request and counts a failure", async () => {
  for (const behaviour of ["reject", "throw"] as const) {
    const c = control();
    const stats = new StatisticsStore();
    const categories = new StatisticsCategories(["eth0"]);
    const handler = pipeline([new DnsLookup(behaviour)], [], { categories });
    const result = await handler.handle(packet(info()), stats, c.control);
    assert.equal(result.outcome, "lookup_failure", behaviour);
    assert.deepEqual(result.replies, []);
    assert.equal(counter(stats, "lookup_failures"), 1);
    assert.equal(counter(stats, "lookup_failures", "interface:eth0"), 1, "counted per scope");
    assert.equal(counter(stats, "handling_errors"), 0, "not a handling error");
    assert.equal(counter(stats, "outgoing_packets"), 0);
    assert.deepEqual(
      c.events,
      behaviour === "reject" ? ["enter", "leave failure: database down"] : [],
    );
  }
});

Deno.test("lookup: no answer within the deadline drops the request and counts a timeout", async () => {
  const c = control(Infinity, 20);
  const stats = new StatisticsStore();
  const result = await pipeline([new DnsLookup("never")]).handle(
    packet(info()),
    stats,
    c.control,
  );
  assert.equal(result.outcome, "lookup_timeout");
  assert.deepEqual(result.replies, []);
  assert.equal(counter(stats, "lookup_timeouts"), 1);
  assert.deepEqual(c.events, ["enter", "leave timeout: no answer within 0.02 s"]);
  assert.equal(c.waiting(), 0);
});

Deno.test("lookup: over the bound, a request is dropped at once and counted", async () => {
  const c = control(1);
  const stats = new StatisticsStore();
  const handler = pipeline([new DnsLookup("resolve")]);
  const first = handler.handle(packet(info(1)), stats, c.control);
  const second = handler.handle(packet(info(2)), stats, c.control);
  assert.ok(first instanceof Promise);
  assert.ok(!(second instanceof Promise), "dropped without waiting");
  assert.equal(second.outcome, "lookup_overflow");
  assert.equal(counter(stats, "lookup_overflows"), 1);
  assert.deepEqual(dnsOf(await first), ["2001:db8::1"]);
  // Room again: the next one waits and is answered.
  const third = await handler.handle(packet(info(3)), stats, c.control);
  assert.deepEqual(dnsOf(third), ["2001:db8::3"]);
  assert.deepEqual(c.events.filter((e) => e === "overflow"), ["overflow"]);
});

Deno.test("lookup: only the handlers that apply are asked", () => {
  /** Matches nothing. */
  class Nothing extends Filter {
    match(): boolean {
      return false;
    }
    describe(): string {
      return "nothing";
    }
  }
  const lookup = new DnsLookup("never");
  const filter = new Nothing();
  filter.handlers = [lookup];
  const result = pipeline([], [filter]).handle(packet(info()), new StatisticsStore());
  assert.ok(!(result instanceof Promise));
  assert.equal(result.outcome, "reply");
  assert.equal(lookup.calls, 0);
});
