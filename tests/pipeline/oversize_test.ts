/**
 * Hostile sizes: a relay that asks to have a huge option echoed, handlers or clients that make a
 * reply larger than its transport carries. None of it may throw out of the pipeline or the
 * engine; what cannot be sent is dropped and counted in `handling_errors`.
 */
import assert from "node:assert/strict";
import {
  type ClientServerMessage,
  EchoRequestOption,
  InformationRequestMessage,
  InterfaceIdOption,
  type Message,
  parseMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RequestMessage,
  serializeMessage,
  SolicitMessage,
  StatusCode,
  toHex,
  UnknownOption,
  Writer,
} from "../../src/protocol/mod.ts";
import {
  Handler,
  MAX_ECHO_LAYER_SIZE,
  MAX_UDP_MESSAGE,
  type MessageHandler,
  RelayEchoRequestHandler,
  RelayHandler,
  ReplyWithStatus,
  SCALAR_COUNTERS,
  StatisticsStore,
  type TransactionBundle,
} from "../../src/pipeline/mod.ts";
import { Engine } from "../../src/server/engine.ts";
import type { WirePacket, WireReply } from "../../src/server/wire.ts";
import {
  clientId,
  craftedRelayForward,
  elapsed,
  iana,
  pipeline,
  relayed,
  run,
  serverId,
  settled,
  unsendableRelayForward,
} from "./helpers.ts";

const HANDLING_ERRORS = SCALAR_COUNTERS.indexOf("handling_errors");
const OUTGOING = SCALAR_COUNTERS.indexOf("outgoing_packets");

function counter(stats: StatisticsStore, index: number): number {
  return stats.sets.get("global")?.[index] ?? 0;
}

function innermost(message: Message): { relays: RelayReplyMessage[]; reply: Message } {
  const relays: RelayReplyMessage[] = [];
  let m = message;
  while (m instanceof RelayReplyMessage) {
    relays.push(m);
    m = m.getOption(RelayMessageOption)!.message;
  }
  return { relays, reply: m };
}

Deno.test("crafted relay-forward with a 65,000-byte echo: no throw, the echo is left out", () => {
  const stats = new StatisticsStore();
  const handler = pipeline();
  for (const size of [undefined, 65_000, 64_000, 60_000]) {
    const result = settled(handler.handle({
      data: craftedRelayForward(size),
      source: "2001:db8:2::1",
      sourcePort: 547,
      interfaceName: "eth0",
      linkAddress: "2001:db8:3::1",
      receivedOverMulticast: false,
      receivedOverTcp: false,
      marks: ["unmarked"],
      id: "#T",
    }, stats));
    if (result.outcome === "handling_error") {
      assert.equal(result.replies.length, 0);
      continue;
    }
    assert.equal(result.outcome, "reply", `size ${size}`);
    assert.equal(result.replies.length, 1);
    assert.ok(result.replies[0].data.length <= MAX_UDP_MESSAGE);
    const { relays, reply } = innermost(parseMessage(result.replies[0].data));
    assert.equal(relays.length, 2);
    const echoed = relays[1].options.some((o) => o.code === 9999);
    // 60,000 bytes still fit next to the Advertise; more does not.
    assert.equal(echoed, size === 60_000, `size ${size}`);
    assert.equal((reply as ClientServerMessage).transactionId, 0x4242);
  }
});

/** The relay echo as it was: every requested option echoed, whatever its size. */
class UncappedEchoHandler extends RelayEchoRequestHandler {
  override handle(bundle: TransactionBundle): void {
    RelayHandler.prototype.handle.call(this, bundle);
  }
}

Deno.test("crafted relay-forward with an uncapped echo: handling_error, counted, no throw", () => {
  const stats = new StatisticsStore();
  const handler = pipeline([], [], { cleanupHandlers: [new UncappedEchoHandler()] });
  for (let i = 0; i < 3; i++) {
    const r = run(handler, craftedRelayForward(), {
      source: "2001:db8:2::1",
      sourcePort: 547,
      multicast: false,
    }, stats);
    assert.equal(r.result.outcome, "handling_error");
    assert.equal(r.result.replies.length, 0);
  }
  assert.equal(counter(stats, HANDLING_ERRORS), 3);
  assert.equal(counter(stats, OUTGOING), 0);
});

Deno.test("a relayed answer that cannot be wrapped (huge Interface-ID) is a handling error", () => {
  const stats = new StatisticsStore();
  const r = run(pipeline(), unsendableRelayForward(), {
    source: "2001:db8:2::1",
    sourcePort: 547,
    multicast: false,
  }, stats);
  assert.equal(r.result.outcome, "handling_error");
  assert.equal(counter(stats, HANDLING_ERRORS), 1);
});

Deno.test("relay echo: options that fit are still echoed, up to the layer size limit", () => {
  const small = new UnknownOption(9999, new Uint8Array(10));
  const forward = relayed(
    new SolicitMessage(1, [clientId(), elapsed(0), iana(1)]),
    "2001:db8:1::1",
    "fe80::1",
    [new EchoRequestOption([9999, 9998]), small, new UnknownOption(9998, new Uint8Array(20_000))],
  );
  const r = run(pipeline(), forward, { source: "2001:db8:1::1", multicast: false });
  assert.equal(r.result.outcome, "reply");
  const layer = r.relayReplies[0];
  assert.deepEqual(layer.options.filter((o) => o.code >= 9998).map((o) => o.code), [9999, 9998]);

  // Two echoes of 40,000 bytes: the second does not fit any more.
  const big = relayed(
    new SolicitMessage(2, [clientId(), elapsed(0), iana(1)]),
    "2001:db8:1::1",
    "fe80::1",
    [
      new EchoRequestOption([9999, 9998]),
      new UnknownOption(9999, new Uint8Array(40_000)),
      new UnknownOption(9998, new Uint8Array(40_000)),
    ],
  );
  const r2 = run(pipeline(), big, { source: "2001:db8:1::1", multicast: false });
  assert.equal(r2.result.outcome, "reply");
  const echoed = r2.relayReplies[0].options.filter((o) => o.code >= 9998).map((o) => o.code);
  assert.deepEqual(echoed, [9999]);
  assert.ok(r2.result.replies[0].data.length <= MAX_ECHO_LAYER_SIZE);
  assert.ok(r2.result.replies[0].data.length > 40_000);
});

/** Adds `count` unknown options of `size` bytes to every response. */
class BloatHandler extends Handler {
  constructor(readonly size: number, readonly count = 1) {
    super();
  }
  override handle(bundle: TransactionBundle): void {
    for (let i = 0; i < this.count; i++) {
      bundle.response.options.push(new UnknownOption(9000 + i, new Uint8Array(this.size)));
    }
  }
}

Deno.test("a reply that cannot be wrapped for its relay is a handling error, not a throw", () => {
  const stats = new StatisticsStore();
  const forward = relayed(
    new InformationRequestMessage(1, [clientId(), elapsed(0)]),
    "2001:db8:1::1",
  );
  const r = run(pipeline([new BloatHandler(40_000, 2)]), forward, {
    source: "2001:db8:1::1",
    multicast: false,
  }, stats);
  assert.equal(r.result.outcome, "handling_error");
  assert.equal(r.result.replies.length, 0);
  assert.equal(counter(stats, HANDLING_ERRORS), 1);
  assert.equal(counter(stats, OUTGOING), 0);
});

Deno.test("a direct reply larger than a UDP datagram is dropped and counted", () => {
  const stats = new StatisticsStore();
  // 3 x 21,900 bytes of options: every option encodes, the message does not fit UDP.
  const handler = pipeline([new BloatHandler(21_900, 3)]);
  const r = run(handler, new InformationRequestMessage(1, [clientId(), elapsed(0)]), {}, stats);
  assert.equal(r.result.outcome, "handling_error");
  assert.equal(counter(stats, HANDLING_ERRORS), 1);
  // Small enough: answered.
  const ok = run(
    pipeline([new BloatHandler(30_000, 2)]),
    new InformationRequestMessage(2, [
      clientId(),
      elapsed(0),
    ]),
  );
  assert.equal(ok.result.outcome, "reply");
  assert.ok(ok.result.replies[0].data.length > 60_000);
});

/** Answers everything with a status. */
class StatusHandler extends Handler {
  override handle(): void {
    throw new ReplyWithStatus(StatusCode.UnspecFail, "Not today. ".repeat(20));
  }
}

Deno.test("a status reply too large to send (huge Interface-ID echo) is a handling error", () => {
  const stats = new StatisticsStore();
  // The inner relay's 65,390-byte Interface-ID is echoed in the status reply; with the status
  // text the inner relay-reply no longer fits the outer one's Relay Message option.
  const inner = relayed(
    new RequestMessage(3, [clientId(), serverId(), elapsed(0), iana(1)]),
    "2001:db8:1::1",
    "fe80::1",
    [new InterfaceIdOption(new Uint8Array(65_390))],
  );
  const outer = relayed(inner, "2001:db8:2::1", "2001:db8:1::1", [], 1);
  assert.ok(serializeMessage(outer).length <= MAX_UDP_MESSAGE);
  const r = run(pipeline([new StatusHandler()]), outer, {
    multicast: false,
    source: "2001:db8:2::1",
  }, stats);
  assert.equal(r.result.outcome, "handling_error");
  assert.equal(r.result.replies.length, 0);
  assert.equal(counter(stats, HANDLING_ERRORS), 1);
});

function wire(data: Uint8Array, id: string): WirePacket {
  return {
    id,
    listener: 0,
    data,
    source: "2001:db8:2::1",
    sourcePort: 547,
    interfaceName: "eth0",
    linkAddress: "2001:db8:3::1",
    multicast: false,
    marks: ["unmarked"],
  };
}

Deno.test("Engine.handleBatch: the crafted packet among others, every packet handled", () => {
  const engine = new Engine(pipeline());
  const good = serializeMessage(
    relayed(new InformationRequestMessage(7, [clientId(), elapsed(0)]), "2001:db8:1::1"),
  );
  const out: WireReply[] = [];
  engine.handleBatch([
    wire(craftedRelayForward(), "#1"),
    wire(good, "#2"),
    wire(craftedRelayForward(65_000), "#3"),
    wire(good, "#4"),
  ], out);
  assert.ok(out.length >= 2);
  for (const r of out) assert.ok(r.data.length <= MAX_UDP_MESSAGE);
});

Deno.test("Engine.handleBatch with a reply writer: the same replies, as views of its buffer", () => {
  const packets = [
    wire(craftedRelayForward(), "#1"),
    wire(
      serializeMessage(
        relayed(new InformationRequestMessage(7, [clientId(), elapsed(0)]), "2001:db8:1::1"),
      ),
      "#2",
    ),
    wire(craftedRelayForward(65_000), "#3"),
    wire(
      serializeMessage(
        relayed(new SolicitMessage(8, [clientId(), elapsed(0), iana(1)]), "2001:db8:1::1"),
      ),
      "#4",
    ),
  ];
  const copied: WireReply[] = [];
  new Engine(pipeline()).handleBatch(packets, copied);
  const writer = new Writer(64); // small: it grows during the batch
  writer.u32(0xdeadbeef); // reset by handleBatch
  const viewed: WireReply[] = [];
  new Engine(pipeline()).handleBatch(packets, viewed, writer);
  assert.ok(copied.length >= 2);
  assert.deepEqual(
    viewed.map((r) => [r.destination, r.port, toHex(r.data)]),
    copied.map((r) => [r.destination, r.port, toHex(r.data)]),
  );
  assert.equal(writer.pos, viewed.reduce((n, r) => n + r.data.length, 0));
  assert.ok(viewed.every((r) => r.data.byteLength < r.data.buffer.byteLength), "views, not copies");
});

Deno.test("Engine.handleBatch: a pipeline that throws fails one packet, not the batch", () => {
  const real = pipeline();
  let calls = 0;
  const flaky = {
    handle(...args: Parameters<MessageHandler["handle"]>) {
      if (calls++ === 0) throw new Error("unexpected");
      return real.handle(...args);
    },
  } as unknown as MessageHandler;
  const engine = new Engine(flaky);
  const good = serializeMessage(
    relayed(new InformationRequestMessage(7, [clientId(), elapsed(0)]), "2001:db8:1::1"),
  );
  const out: WireReply[] = [];
  engine.handleBatch([wire(good, "#1"), wire(good, "#2")], out);
  assert.equal(out.length, 1);
  assert.equal(counter(engine.stats, HANDLING_ERRORS), 1);
});
