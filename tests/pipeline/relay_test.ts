import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  InformationRequestMessage,
  InterfaceIdOption,
  LinkLayerIdOption,
  type Message,
  RelayForwardMessage,
  RelayReplyMessage,
  RemoteIdOption,
  ReplyMessage,
  RequestMessage,
  serializeMessage,
  ServerIdOption,
  SolicitMessage,
  SubscriberIdOption,
} from "../../src/protocol/mod.ts";
import {
  Handler,
  MESSAGES_IN,
  MESSAGES_OUT,
  SCALAR_COUNTERS,
  StatisticsStore,
} from "../../src/pipeline/mod.ts";
import {
  clientId,
  elapsed,
  iana,
  interfaceIdText,
  OTHER_DUID,
  pipeline,
  pipelineFromConfig,
  relayed,
  run,
  serverId,
} from "./helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const info = () => new InformationRequestMessage(0xabcdef, [clientId(), elapsed(0)]);

Deno.test("direct client: reply to the client on port 546 out of the receiving interface", () => {
  const r = run(pipeline(), info(), { source: "fe80::1:2", interfaceName: "eth3" });
  assert.equal(r.result.outcome, "reply");
  const out = r.result.replies[0];
  assert.deepEqual([out.destination, out.port, out.interfaceName, out.messageType], [
    "fe80::1:2",
    546,
    "eth3",
    7,
  ]);
  assert.ok(r.sent instanceof ReplyMessage);
  assert.equal(r.reply!.transactionId, 0xabcdef);
});

Deno.test("one relay: interface-id echoed, reply to the relay on port 547", () => {
  const forward = relayed(info(), "2001:db8:1::1", "fe80::c1", [
    new InterfaceIdOption(text("ge-0/0/1")),
  ]);
  const r = run(pipeline(), forward, {
    source: "2001:db8:ffff::1",
    multicast: false,
    interfaceName: "eth1",
  });
  assert.equal(r.result.outcome, "reply");
  const out = r.result.replies[0];
  assert.deepEqual([out.destination, out.port, out.interfaceName, out.messageType], [
    "2001:db8:ffff::1",
    547,
    "eth1",
    7,
  ]);
  assert.equal(r.relayReplies.length, 1);
  const rr = r.relayReplies[0];
  assert.deepEqual([rr.hopCount, rr.linkAddress, rr.peerAddress], [0, "2001:db8:1::1", "fe80::c1"]);
  assert.equal(interfaceIdText(rr), "ge-0/0/1");
  assert.ok(r.reply instanceof ReplyMessage);
});

Deno.test("two relays: each layer gets its own interface-id back", () => {
  const inner = relayed(info(), "2001:db8:1::1", "fe80::c1", [
    new InterfaceIdOption(text("inner-if")),
  ]);
  const outer = relayed(inner, "2001:db8:2::1", "fe80::a1", [
    new InterfaceIdOption(text("outer-if")),
  ], 1);
  const r = run(pipeline(), outer, { source: "2001:db8:2::2", multicast: false });
  const out = r.result.replies[0];
  assert.deepEqual([out.destination, out.port, out.messageType], ["2001:db8:2::2", 547, 7]);
  assert.equal(r.relayReplies.length, 2);
  const [o, i] = r.relayReplies;
  assert.deepEqual([o.hopCount, o.linkAddress, o.peerAddress, interfaceIdText(o)], [
    1,
    "2001:db8:2::1",
    "fe80::a1",
    "outer-if",
  ]);
  assert.deepEqual([i.hopCount, i.linkAddress, i.peerAddress, interfaceIdText(i)], [
    0,
    "2001:db8:1::1",
    "fe80::c1",
    "inner-if",
  ]);
  // A relay without interface-id gets none back.
  const bare = run(
    pipeline(),
    relayed(relayed(info(), "2001:db8:1::1"), "2001:db8:2::1", "fe80::a1", [], 1),
    {
      multicast: false,
    },
  );
  assert.equal(
    bare.relayReplies.every((rr) => rr.getOption(InterfaceIdOption) === undefined),
    true,
  );
});

Deno.test("a status reply (UseMulticast) still echoes relay interface-ids", () => {
  // A unicast, unrelayed Request: UseMulticast reply to the client.
  const r = run(pipeline(), new RequestMessage(1, [clientId(), serverId(), elapsed(0)]), {
    multicast: false,
    source: "2001:db8::c",
  });
  assert.equal(r.result.outcome, "use_multicast");
  assert.equal(r.result.replies[0].port, 546);
  // Arrived by multicast: no UseMulticast reply at all.
  const viaMulticast = pipelineFromConfig("<ignore-request/>");
  assert.equal(run(viaMulticast, info()).result.replies.length, 0);
});

Deno.test("copy-remote-id / copy-subscriber-id / copy-linklayer-id echo relay options", () => {
  const remote = new RemoteIdOption(9, text("circuit-7"));
  const subscriber = new SubscriberIdOption(text("sub-1"));
  const linkLayer = new LinkLayerIdOption(1, new Uint8Array([0, 1, 2, 3, 4, 5]));
  const forward = relayed(info(), "2001:db8:1::1", "fe80::c1", [
    new InterfaceIdOption(text("x")),
    remote,
    subscriber,
    linkLayer,
  ]);
  const none = run(pipeline(), forward, { multicast: false });
  assert.deepEqual(none.relayReplies[0].options.map((o) => o.code), [18, 9]);
  const onlyRemote = run(pipelineFromConfig("<copy-remote-id/>"), forward, { multicast: false });
  const rr = onlyRemote.relayReplies[0];
  assert.deepEqual(rr.options.map((o) => o.code), [18, 37, 9]);
  const echoed = rr.getOption(RemoteIdOption)!;
  assert.equal(echoed.enterpriseNumber, 9);
  assert.deepEqual(echoed.remoteId, text("circuit-7"));
  const all = run(
    pipelineFromConfig("<copy-remote-id/>\n<copy-subscriber-id/>\n<copy-linklayer-id/>"),
    forward,
    {
      multicast: false,
    },
  );
  assert.deepEqual(all.relayReplies[0].options.map((o) => o.code), [18, 37, 38, 79, 9]);
  assert.deepEqual(all.relayReplies[0].getOption(SubscriberIdOption)!.data, text("sub-1"));
  assert.deepEqual(
    all.relayReplies[0].getOption(LinkLayerIdOption)!.linkLayerAddress,
    linkLayer.linkLayerAddress,
  );
});

Deno.test("malformed packets are counted as unparsable and get no reply", () => {
  const p = pipeline();
  const stats = new StatisticsStore();
  for (
    const data of [
      new Uint8Array([]),
      new Uint8Array([1]),
      new Uint8Array([1, 0, 0, 1, 0, 1, 0, 9, 1]),
    ]
  ) {
    const r = run(p, data, {}, stats);
    assert.equal(r.result.outcome, "unparsable");
    assert.equal(r.result.replies.length, 0);
  }
  assert.equal(stats.sets.get("global")![SCALAR_COUNTERS.indexOf("unparsable_packets")], 3);
  assert.equal(stats.sets.get("global")![SCALAR_COUNTERS.indexOf("incoming_packets")], 3);
});

Deno.test("server-to-client message types are dropped, also when relayed", () => {
  const p = pipeline();
  for (
    const m of [
      new AdvertiseMessage(1, [clientId(), serverId()]),
      new ReplyMessage(1, [clientId(), serverId()]),
      relayed(new ReplyMessage(1, [clientId(), serverId()]), "2001:db8::1"),
      new RelayReplyMessage(0, "2001:db8::1", "fe80::1", []),
    ] as Message[]
  ) {
    const r = run(p, m, { multicast: false });
    assert.equal(r.result.outcome, "unparsable", m.name);
    assert.equal(r.result.replies.length, 0);
  }
});

function nest(depth: number): Message {
  let m: Message = info();
  for (let i = 0; i < depth; i++) m = relayed(m, "2001:db8::1", "fe80::1", [], i);
  return m;
}

Deno.test("relay chains deeper than 32 layers are dropped", () => {
  const p = pipeline();
  const ok = run(p, nest(32), { multicast: false });
  assert.equal(ok.result.outcome, "reply");
  assert.equal(ok.relayReplies.length, 32);
  const deep = run(p, nest(33), { multicast: false });
  assert.equal(deep.result.outcome, "unparsable");
  assert.equal(deep.result.replies.length, 0);
});

Deno.test("statistics after a set of requests", () => {
  const p = pipelineFromConfig(`
<marked-with drop>
  <ignore-request/>
</marked-with>`);
  const stats = new StatisticsStore();
  run(p, new SolicitMessage(1, [clientId(), elapsed(0), iana(1)]), {}, stats);
  run(p, new SolicitMessage(2, [clientId(), elapsed(0), iana(1)]), {}, stats);
  run(p, new RequestMessage(3, [clientId(), serverId(), elapsed(0), iana(1)]), {}, stats);
  run(
    p,
    new RequestMessage(4, [clientId(), new ServerIdOption(OTHER_DUID), elapsed(0)]),
    {},
    stats,
  );
  run(p, info(), {}, stats);
  run(p, info(), { marks: ["drop"] }, stats);
  run(p, new RequestMessage(5, [clientId(), serverId(), elapsed(0)]), {
    multicast: false,
    source: "2001:db8::9",
  }, stats);
  run(p, new Uint8Array([0xff]), {}, stats);
  run(p, serializeMessage(new RelayForwardMessage(0, "::", "::", [])), {}, stats);
  const g = stats.sets.get("global")!;
  const scalar = (n: string) => g[SCALAR_COUNTERS.indexOf(n as typeof SCALAR_COUNTERS[number])];
  const msgIn = (n: string) =>
    g[SCALAR_COUNTERS.length + MESSAGES_IN.findIndex(([name]) => name === n)];
  const msgOut = (n: string) =>
    g[SCALAR_COUNTERS.length + MESSAGES_IN.length + MESSAGES_OUT.findIndex(([name]) => name === n)];
  assert.equal(scalar("incoming_packets"), 9);
  assert.equal(scalar("unparsable_packets"), 2);
  assert.equal(scalar("for_other_server"), 1);
  assert.equal(scalar("do_not_respond"), 1);
  assert.equal(scalar("use_multicast"), 1);
  assert.equal(scalar("handling_errors"), 0);
  assert.equal(scalar("outgoing_packets"), 5);
  assert.equal(msgIn("solicit"), 2);
  assert.equal(msgIn("request"), 3);
  assert.equal(msgIn("information_request"), 2);
  assert.equal(msgOut("advertise"), 2);
  assert.equal(msgOut("reply"), 3);
});

class FailingHandler extends Handler {
  override handle(): void {
    throw new Error("boom");
  }
}

Deno.test("a handler error is counted and answered with silence", () => {
  const r = run(pipeline([new FailingHandler()]), info());
  assert.equal(r.result.outcome, "handling_error");
  assert.equal(r.result.replies.length, 0);
  assert.equal(r.stats.sets.get("global")![SCALAR_COUNTERS.indexOf("handling_errors")], 1);
});
