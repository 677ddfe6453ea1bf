/**
 * The engine's side of asynchronous lookups, without sockets: a batch answers what needs no
 * lookup at once and parks the rest, whose replies (with bytes of their own) go to the backend's
 * callback later, routed to the listener they came from; drain() and close() wait for them.
 */

import assert from "node:assert/strict";
import { Handler, type TransactionBundle } from "../../src/pipeline/mod.ts";
import {
  ClientIdOption,
  ElapsedTimeOption,
  InformationRequestMessage,
  LinkLayerDuid,
  serializeMessage,
  Writer,
} from "../../src/protocol/mod.ts";
import { Engine } from "../../src/server/engine.ts";
import type { WirePacket, WireReply } from "../../src/server/wire.ts";
import { pipeline, relayed } from "../pipeline/helpers.ts";

/** Waits for a promise the test resolves, for requests with an odd transaction id. */
class Gate extends Handler {
  readonly open = Promise.withResolvers<void>();
  closed = false;
  override lookup(bundle: TransactionBundle): Promise<void> | undefined {
    return bundle.request.transactionId % 2 === 1 ? this.open.promise : undefined;
  }
  override close(): void {
    this.closed = true;
  }
}

function packet(xid: number, listener: number): WirePacket {
  const request = new InformationRequestMessage(xid, [
    new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, xid]))),
    new ElapsedTimeOption(0),
  ]);
  return {
    id: `#${xid}`,
    listener,
    data: serializeMessage(relayed(request, "2001:db8:1::1")),
    source: "2001:db8:1::1",
    sourcePort: 547,
    interfaceName: "eth0",
    linkAddress: "::",
    multicast: false,
    marks: ["unmarked"],
  };
}

Deno.test("Engine: parked requests are answered through settled, routed, and drained before close", async () => {
  const gate = new Gate();
  const engine = new Engine(pipeline([gate]));
  const late: WireReply[][] = [];
  engine.settled = (replies) => late.push(replies);
  const writer = new Writer(4096);
  const out: WireReply[] = [];
  engine.handleBatch([packet(1, 0), packet(2, 1), packet(3, 2)], out, writer);
  // The one without a lookup is answered in the batch, the two others wait.
  assert.deepEqual(out.map((r) => r.listener), [1]);
  assert.equal(engine.parked, 2);
  assert.equal(engine.latency.count, 1);
  let drained = false;
  const draining = engine.drain().then(() => drained = true);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(drained, false, "drain waits for the parked requests");
  writer.reset(); // the batch is long sent when the lookups answer
  gate.open.resolve();
  await draining;
  assert.equal(engine.parked, 0);
  assert.deepEqual(late.map((replies) => replies.map((r) => r.listener)), [[0], [2]]);
  for (const [r] of late) assert.notEqual(r.data.buffer, writer.buf.buffer, "bytes of its own");
  assert.equal(engine.latency.count, 3);
  await engine.close();
  assert.ok(gate.closed);
});
