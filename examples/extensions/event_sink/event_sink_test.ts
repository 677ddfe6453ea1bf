/**
 * Tests of the event sink extension through dhcpkit's public API.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import {
  buildHandlerTree,
  ClientIdOption,
  ElapsedTimeOption,
  formatIssue,
  Handler,
  type HandleResult,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  InformationRequestMessage,
  installExtensions,
  InterfaceIdOption,
  LinkLayerDuid,
  loadConfigText,
  MessageHandler,
  RelayForwardMessage,
  RelayMessageOption,
  RemoteIdOption,
  serializeMessage,
  SolicitMessage,
  StatisticsStore,
  type TransactionBundle,
} from "@dhcpkit/dhcpkit";
import type { TransactionEvent } from "./event.ts";
import { EventSinkHandler } from "./handler.ts";
import { eventSinkExtension } from "./mod.ts";
import { LineQueue, type Target } from "./queue.ts";

// What the server does with the extension a configuration names: install it.
installExtensions([eventSinkExtension]);

const SERVER = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]));
const CLIENT = new LinkLayerDuid(1, new Uint8Array([0, 0x11, 0x22, 0, 0, 1]));

/** Answers every IA_NA and IA_PD with one address or prefix (a stand-in for real assignment). */
class AssignEverything extends Handler {
  override handle(bundle: TransactionBundle): void {
    for (const ia of bundle.getUnhandledOptions(IANAOption)) {
      bundle.response.options.push(
        new IANAOption(ia.iaid, 1800, 2880, [new IAAddressOption("2001:db8:1::100", 3600, 7200)]),
      );
      bundle.markHandled(ia);
    }
    for (const ia of bundle.getUnhandledOptions(IAPDOption)) {
      bundle.response.options.push(
        new IAPDOption(ia.iaid, 1800, 2880, [new IAPrefixOption(3600, 7200, 56, "2001:db8:100::")]),
      );
      bundle.markHandled(ia);
    }
  }
}

/** The pipeline of a configuration holding an `<event-sink>`, after per-worker initialisation. */
async function pipeline(text: string, extra: Handler[] = []): Promise<MessageHandler> {
  const result = loadConfigText(text, "/tmp/events.conf", { hostChecks: false });
  if (!result.config) throw new Error(result.errors.map(formatIssue).join("\n"));
  const tree = buildHandlerTree(result.config.handlers, { configDir: "/tmp", serverDuid: SERVER });
  const handler = new MessageHandler({
    serverDuid: SERVER,
    filters: tree.filters,
    handlers: [...extra, ...tree.handlers],
  });
  await handler.workerInit();
  return handler;
}

/** A relayed request, as a relay with an Interface-ID and a Remote-ID sends it. */
function packet(request: SolicitMessage | InformationRequestMessage) {
  const relayed = new RelayForwardMessage(0, "2001:db8:1::1", "fe80::211:22ff:fe00:1", [
    new InterfaceIdOption(new TextEncoder().encode("ge-0/0/1.100")),
    new RemoteIdOption(9, new Uint8Array([0xca, 0xfe])),
    new RelayMessageOption(request),
  ]);
  return {
    data: serializeMessage(relayed),
    source: "2001:db8:1::1",
    sourcePort: 547,
    interfaceName: "eth0",
    linkAddress: "2001:db8::547",
    receivedOverMulticast: false,
    receivedOverTcp: false,
    marks: ["unmarked"],
  };
}

const solicit = (xid: number) =>
  new SolicitMessage(xid, [
    new ClientIdOption(CLIENT),
    new ElapsedTimeOption(0),
    new IANAOption(1),
    new IAPDOption(2),
  ]);

Deno.test("event-sink: a file destination gets one JSON line per request with the right fields", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "events.jsonl");
    const handler = await pipeline(
      `<event-sink>\ndestination ${file}\nqueue-size 100\n</event-sink>`,
      [new AssignEverything()],
    );
    const stats = new StatisticsStore();
    handler.handle(packet(solicit(1)), stats);
    handler.handle(
      packet(
        new InformationRequestMessage(2, [new ClientIdOption(CLIENT), new ElapsedTimeOption(0)]),
      ),
      stats,
    );
    await handler.close(); // flushes the queue
    const lines = (await Deno.readTextFile(file)).trim().split("\n");
    assert.equal(lines.length, 2);
    const [first, second] = lines.map((l) => JSON.parse(l) as TransactionEvent);
    assert.equal(first.event, "transaction");
    assert.ok(Math.abs(Date.parse(first.time) - Date.now()) < 60_000);
    assert.equal(first.request, "solicit");
    assert.equal(first.response, "advertise");
    assert.equal(first.client_duid, CLIENT.toHex());
    assert.equal(first.link_address, "2001:db8:1::1");
    assert.deepEqual(first.relays, [{
      link_address: "2001:db8:1::1",
      peer_address: "fe80::211:22ff:fe00:1",
      interface_id: "67652d302f302f312e313030",
      interface_id_text: "ge-0/0/1.100",
      remote_id: { enterprise_number: 9, remote_id: "cafe" },
    }]);
    assert.deepEqual(first.addresses, [
      { iaid: 1, address: "2001:db8:1::100", preferred_lifetime: 3600, valid_lifetime: 7200 },
    ]);
    assert.deepEqual(first.prefixes, [
      { iaid: 2, prefix: "2001:db8:100::/56", preferred_lifetime: 3600, valid_lifetime: 7200 },
    ]);
    assert.deepEqual(first.status_codes, []);
    assert.equal(typeof first.handling_ms, "number");
    assert.ok(first.handling_ms >= 0 && first.handling_ms < 5000);
    assert.equal(second.request, "information-request");
    assert.equal(second.response, "reply");
    assert.deepEqual(second.addresses, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("event-sink: status codes of unanswered IAs are recorded", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "events.jsonl");
    const handler = await pipeline(`<event-sink>\ndestination ${file}\n</event-sink>`);
    handler.handle(packet(solicit(3)), new StatisticsStore());
    await handler.close();
    const event = JSON.parse(await Deno.readTextFile(file)) as TransactionEvent;
    assert.deepEqual(event.status_codes.map((s) => `${s.scope} ${s.name}`), [
      "ia_na:1 NoAddrsAvail",
      "ia_pd:2 NoPrefixAvail",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("event-sink: a Unix-socket consumer that never reads does not block handling", async () => {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "events.sock");
  const listener = Deno.listen({ transport: "unix", path });
  const accepted = listener.accept(); // accepted, then never read from
  try {
    const queueSize = 50;
    const handler = await pipeline(
      `<event-sink>\ndestination unix:${path}\nqueue-size ${queueSize}\n</event-sink>`,
      [new AssignEverything()],
    );
    const sink = handler.allHandlers().find((h) =>
      h instanceof EventSinkHandler
    ) as EventSinkHandler;
    const stats = new StatisticsStore();
    const rounds = 200, perRound = 100;
    let slowest = 0;
    let maxQueued = 0;
    for (let r = 0; r < rounds; r++) {
      const started = performance.now();
      for (let i = 0; i < perRound; i++) {
        const result = handler.handle(packet(solicit(r * perRound + i)), stats) as HandleResult;
        assert.equal(result.replies.length, 1);
      }
      slowest = Math.max(slowest, performance.now() - started);
      maxQueued = Math.max(maxQueued, sink.stats.queued);
      // Let the writer run: it fills the socket buffer and then waits on the consumer forever.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const { written, dropped, queued } = sink.stats;
    assert.ok(dropped > 0, "events must be dropped once the consumer stops keeping up");
    assert.ok(
      written < rounds * perRound,
      "the consumer never read, so not everything was written",
    );
    assert.ok(maxQueued <= queueSize, `queue stayed bounded (max ${maxQueued})`);
    assert.ok(written + dropped + queued <= rounds * perRound);
    assert.ok(slowest < 2000, `a round of ${perRound} requests took ${slowest} ms`);
    // Closing gives up on the stuck write after its timeout instead of hanging.
    const closing = performance.now();
    await handler.close();
    assert.ok(performance.now() - closing < 5000);
  } finally {
    (await accepted).close();
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("event-sink: dropped events are reported in the stream once there is room", async () => {
  const chunks: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => release = resolve);
  const target: Target = {
    async write(data) {
      await gate; // a consumer that is stuck until released
      chunks.push(new TextDecoder().decode(data));
      return data.length;
    },
    close() {},
  };
  const queue = new LineQueue(() => Promise.resolve(target), 2);
  queue.start();
  await new Promise((resolve) => setTimeout(resolve, 0));
  queue.push(`{"n":0}\n`);
  await new Promise((resolve) => setTimeout(resolve, 0)); // the writer takes it and gets stuck
  for (let i = 1; i < 10; i++) queue.push(`{"n":${i}}\n`);
  assert.equal(queue.stats.dropped, 7); // one in flight, two queued
  release();
  for (let i = 10; i < 12; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    queue.push(`{"n":${i}}\n`);
  }
  await queue.close();
  const lines = chunks.join("").trim().split("\n").map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.n ?? `dropped ${l.count}`), [0, "dropped 7", 1, 2, 10, 11]);
  assert.deepEqual(queue.stats, { queued: 0, written: 5, dropped: 7 });
});
