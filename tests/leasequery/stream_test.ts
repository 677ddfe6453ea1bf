/**
 * Streamed TCP answers come from the installed extensions' stream responders: the leasequery
 * extension's (RFC 5460: LEASEQUERY-DATA per further client, LEASEQUERY-DONE at the end, and
 * QueryTerminated when cut short) and any other extension's, through the same hook. The I/O layer
 * knows none of the leasequery protocol.
 */

import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  defineExtension,
  installExtensions,
  type StreamResponder,
} from "../../src/handlers/mod.ts";
import { leasequeryExtension } from "../../src/handlers/leasequery/mod.ts";
import { LeasequeryHandler } from "../../src/handlers/leasequery/handler.ts";
import { LeasequerySqliteStore } from "../../src/handlers/leasequery/sqlite.ts";
import {
  Handler,
  type HandleResult,
  StatisticsStore,
  type TransactionBundle,
} from "../../src/pipeline/mod.ts";
import {
  ClientDataOption,
  type ClientServerMessage,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LQQueryOption,
  parseMessage,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  serializeMessage,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { responseStream } from "../../src/server/pipeline_builder.ts";
import {
  frame,
  FrameReader,
  leasequery,
  lqPipeline,
  seedClients,
  tempDir,
  testTcpListener,
} from "./lq_helpers.ts";
import { run } from "../pipeline/helpers.ts";

const SERVER_DIR = fileURLToPath(new URL("../../src/server/", import.meta.url));

Deno.test("the server layer holds no leasequery protocol knowledge", () => {
  const leaks = readdirSync(SERVER_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".ts"))
    .filter((f) =>
      /LeasequeryDoneMessage|LeasequeryDataMessage|QueryTerminated|leasequery\/handler/.test(
        readFileSync(SERVER_DIR + f, "utf8"),
      )
    );
  assert.deepEqual(leaks, []);
});

Deno.test("leasequery responder: DATA per further client, DONE at the end, QueryTerminated", async () => {
  const dir = tempDir();
  try {
    const path = `${dir.path}/lq.sqlite`;
    seedClients(path, 3);
    const handler = lqPipeline([new LeasequeryHandler(new LeasequerySqliteStore(path))]);
    await handler.workerInit();
    try {
      const responder = leasequeryExtension.streamResponder!;
      const bulk = run(handler, leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:1::1", [], 0x4242), {
        tcp: true,
        multicast: false,
        source: "2001:db8::99",
      });
      assert.ok(bulk.reply instanceof LeasequeryReplyMessage);
      const rest = [...(responder.rest(bulk.result) as Iterable<ClientServerMessage>)];
      assert.deepEqual(rest.map((m) => m.constructor), [
        LeasequeryDataMessage,
        LeasequeryDataMessage,
        LeasequeryDoneMessage,
      ]);
      assert.ok(rest.every((m) => m.transactionId === 0x4242));
      assert.ok(rest.slice(0, 2).every((m) => m.getOption(ClientDataOption)));
      assert.equal(rest[2].getOption(StatusCodeOption)!.statusCode, StatusCode.Success);

      const cut = responder.terminated(bulk.result, "Server is shutting down");
      assert.ok(cut instanceof LeasequeryDoneMessage);
      assert.equal(cut.transactionId, 0x4242);
      assert.equal(cut.getOption(StatusCodeOption)!.statusCode, StatusCode.QueryTerminated);
      assert.equal(cut.getOption(StatusCodeOption)!.statusMessage, "Server is shutting down");

      // A UDP answer has nothing to stream; neither has a TCP answer with a single client.
      const udp = run(handler, leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:1::1"), {
        source: "2001:db8::99",
      });
      assert.equal(responder.rest(udp.result), undefined);
      assert.equal(responseStream(udp.result), undefined);
    } finally {
      await handler.close();
    }
  } finally {
    dir.remove();
  }
});

/** What the test extension streams after its reply. */
class Chunks implements Iterable<ClientServerMessage> {
  constructor(readonly xid: number, readonly count: number) {}
  *[Symbol.iterator](): Generator<ClientServerMessage> {
    for (let i = 0; i < this.count; i++) {
      yield new LeasequeryDataMessage(this.xid, [new StatusCodeOption(0, `chunk ${i}`)]);
    }
    yield new LeasequeryDoneMessage(this.xid, [new StatusCodeOption(0, "chunks done")]);
  }
}

/** Answers relay-id queries itself, streaming `Chunks`. */
class ChunkHandler extends Handler {
  override handle(bundle: TransactionBundle): void {
    if (!(bundle.request instanceof LeasequeryMessage)) return;
    const query = bundle.getUnhandledOptions(LQQueryOption)[0];
    if (query?.queryType !== QUERY_BY_RELAY_ID) return;
    bundle.markHandled(query);
    bundle.response.options.push(new StatusCodeOption(0, "chunks follow"));
    const count = bundle.request.transactionId === 0x777 ? 3 : 1_000_000;
    bundle.moreResponses = new Chunks(bundle.request.transactionId, count);
  }
}

const chunkResponder: StreamResponder = {
  rest: (result: HandleResult) => {
    const more = result.bundle?.moreResponses;
    return more instanceof Chunks ? more : undefined;
  },
  terminated: (result: HandleResult, reason: string) =>
    new LeasequeryDoneMessage(result.bundle!.request.transactionId, [
      new StatusCodeOption(0, `chunks cut: ${reason}`),
    ]),
};

Deno.test("any extension's stream responder answers over <listen-tcp>", async () => {
  installExtensions([defineExtension({ name: "chunks", streamResponder: chunkResponder })]);
  const handler = lqPipeline([new ChunkHandler()]);
  const stats = new StatisticsStore();
  const listener = testTcpListener();
  listener.serve((packet) => handler.handle(packet, stats));
  try {
    const conn = await Deno.connect({ transport: "tcp", hostname: "::1", port: listener.port });
    try {
      const reader = new FrameReader(conn);
      const query = leasequery(QUERY_BY_RELAY_ID, "::", [], 0x777);
      await conn.write(frame(serializeMessage(query)));
      const got: ClientServerMessage[] = [];
      while (!(got.at(-1) instanceof LeasequeryDoneMessage)) {
        const data = await reader.next();
        assert.ok(data, "the stream ends with a DONE");
        got.push(parseMessage(data) as ClientServerMessage);
      }
      assert.deepEqual(
        got.map((m) => m.getOption(StatusCodeOption)?.statusMessage),
        ["chunks follow", "chunk 0", "chunk 1", "chunk 2", "chunks done"],
      );
      assert.equal(listener.counters.sent, 5);

      // A stream cut short ends with the message the extension's responder gives.
      await conn.write(frame(serializeMessage(leasequery(QUERY_BY_RELAY_ID, "::", [], 0x778))));
      assert.ok(await reader.next());
      const closing = listener.close(2000);
      let last: ClientServerMessage | undefined;
      let count = 0;
      for (let data = await reader.next(); data; data = await reader.next()) {
        last = parseMessage(data) as ClientServerMessage;
        count++;
      }
      await closing;
      assert.ok(count < 1_000_000);
      assert.equal(last?.transactionId, 0x778);
      assert.equal(
        last?.getOption(StatusCodeOption)?.statusMessage,
        "chunks cut: Server is shutting down",
      );
      assert.equal(listener.counters.terminated, 1);
    } finally {
      conn.close();
    }
  } finally {
    await listener.close(200);
    await handler.close();
  }
});
