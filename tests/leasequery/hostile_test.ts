/**
 * Leasequery against hostile relays: relay data too large to store or to return, a bulk answer
 * with a message that cannot be encoded, cursors released when a bulk answer is abandoned, and
 * every streamed message counted.
 */
import assert from "node:assert/strict";
import { LeasequeryHandler } from "../../src/handlers/leasequery/handler.ts";
import { LeasequerySqliteStore, openDatabase } from "../../src/handlers/leasequery/sqlite.ts";
import {
  buildClientData,
  type ClientCursor,
  type ClientRecord,
  encodeRelayData,
  type LeaseStore,
  MAX_RELAY_DATA,
  type QueryOptions,
} from "../../src/handlers/leasequery/store.ts";
import {
  Handler,
  ReplyWithLeasequeryError,
  SCALAR_COUNTERS,
  StatisticsStore,
  TransactionBundle,
} from "../../src/pipeline/mod.ts";
import type { TcpListener } from "../../src/server/tcp_listener.ts";
import {
  ClientDataOption,
  ClientIdOption,
  type ClientServerMessage,
  IAAddressOption,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  type LQQueryOption,
  LQRelayDataOption,
  OptionRequestOption,
  parseIPv6,
  parseMessage,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  RelayForwardMessage,
  RelayMessageOption,
  RequestMessage,
  serializeMessage,
  StatusCode,
  StatusCodeOption,
  UnknownOption,
} from "../../src/protocol/mod.ts";
import { clientId, elapsed, iana, packet, serverId, settled } from "../pipeline/helpers.ts";
import {
  frame,
  FrameReader,
  leasequery,
  lqPipeline,
  seedClients,
  tempDir,
  testTcpListener,
} from "./lq_helpers.ts";

const OUTGOING = SCALAR_COUNTERS.indexOf("outgoing_packets");
const LINK = "2001:db8:1::1";

/** A relay-forward around nothing, carrying an unknown option of `size` bytes. */
function bigRelay(size: number): RelayForwardMessage {
  return new RelayForwardMessage(0, LINK, "fe80::1", [
    new UnknownOption(9999, new Uint8Array(size)),
  ]);
}

/** The stored form of relay data: peer address, then the relay-forward. */
function relayBlob(size: number): Uint8Array {
  const body = serializeMessage(bigRelay(size));
  const out = new Uint8Array(16 + body.length);
  out.set(parseIPv6("2001:db8:1::2"));
  out.set(body, 16);
  return out;
}

/** Set the stored relay data of the seeded clients `ids` (1-based row ids). */
function poison(path: string, blobs: Record<number, Uint8Array>): void {
  const db = openDatabase(path, 5000);
  const update = db.prepare("UPDATE clients SET relay_data = ? WHERE id = ?");
  for (const [id, blob] of Object.entries(blobs)) update.run(blob, Number(id));
  db.close();
}

Deno.test("relay data: a relay chain above the cap is not stored", () => {
  const request = new RequestMessage(1, [clientId(), serverId(), elapsed(0), iana(1)]);
  const bundleWith = (size: number) => {
    const relay = new RelayForwardMessage(0, LINK, "fe80::1", [
      new UnknownOption(9999, new Uint8Array(size)),
      new RelayMessageOption(request),
    ]);
    const wrapper = new RelayForwardMessage(1, "::1", "2001:db8:1::2", [
      new RelayMessageOption(relay),
    ]);
    return new TransactionBundle(wrapper, false);
  };
  const small = encodeRelayData(bundleWith(100), new Set());
  assert.ok(small && small.length < 200);
  assert.equal(encodeRelayData(bundleWith(MAX_RELAY_DATA), new Set()), undefined);
  assert.equal(encodeRelayData(bundleWith(65_000), new Set()), undefined);
});

Deno.test("client data: relay data that would not fit is left out", () => {
  const q: QueryOptions = { requestedOptions: [47], sensitiveOptions: new Set(), now: 1000 };
  const client = (size: number) => ({
    duid: new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1])),
    lastInteraction: 990,
    options: [],
    relay: { peerAddress: "2001:db8:1::2", message: bigRelay(size) },
    addresses: [{
      address: "2001:db8:1::10",
      preferredEnd: 2000,
      validEnd: 3000,
      options: new Uint8Array(0),
    }],
    prefixes: [],
  });
  const fits = buildClientData(client(30_000), q);
  assert.ok(fits.options.some((o) => o instanceof LQRelayDataOption));
  for (const size of [62_000, 65_400]) {
    const data = buildClientData(client(size), q);
    assert.ok(!data.options.some((o) => o instanceof LQRelayDataOption), `size ${size}`);
    assert.ok(data.options.some((o) => o instanceof IAAddressOption));
    assert.ok(serializeMessage(new LeasequeryReplyMessage(1, [data])).length < 65535);
  }
  // Not asked for: never there.
  const none = buildClientData(client(100), { ...q, requestedOptions: [] });
  assert.ok(!none.options.some((o) => o instanceof LQRelayDataOption));
});

interface Tcp {
  listener: TcpListener;
  stats: StatisticsStore;
  streamed: number[];
  close(): Promise<void>;
}

async function tcpSetup(handlers: Handler[], cleanup: () => void = () => {}): Promise<Tcp> {
  const handler = lqPipeline(handlers);
  await handler.workerInit();
  const stats = new StatisticsStore();
  const streamed: number[] = [];
  const listener = testTcpListener();
  listener.serve(
    (p) => handler.handle(p, stats),
    (result, n) => {
      streamed.push(n);
      handler.countSent(result, stats, n);
    },
  );
  return {
    listener,
    stats,
    streamed,
    async close() {
      await listener.close(200);
      await handler.close();
      cleanup();
    },
  };
}

async function ask(l: TcpListener, query: ClientServerMessage): Promise<ClientServerMessage[]> {
  const conn = await Deno.connect({ transport: "tcp", hostname: "::1", port: l.port });
  try {
    await conn.write(frame(serializeMessage(query)));
    const reader = new FrameReader(conn);
    const out: ClientServerMessage[] = [];
    for (;;) {
      const data = await reader.next();
      if (!data) return out;
      const m = parseMessage(data) as ClientServerMessage;
      out.push(m);
      if (m instanceof LeasequeryDoneMessage) return out;
      if (m instanceof LeasequeryReplyMessage && !m.getOption(ClientDataOption)) return out;
    }
  } finally {
    conn.close();
  }
}

function clientIdOf(m: ClientServerMessage): string {
  return (m.getOption(ClientDataOption)!.options[0] as ClientIdOption).duid.toHex();
}

Deno.test("tcp: a poisoned store streams every client, oversized relay data left out", async () => {
  const dir = tempDir();
  const path = `${dir.path}/lq.sqlite`;
  seedClients(path, 4);
  // Client 2 with relay data written before the cap existed, 3 just below the cap, 4 small.
  poison(path, { 2: relayBlob(65_400), 3: relayBlob(MAX_RELAY_DATA - 100), 4: relayBlob(10) });
  const s = await tcpSetup([new LeasequeryHandler(new LeasequerySqliteStore(path))], dir.remove);
  try {
    const messages = await ask(
      s.listener,
      leasequery(QUERY_BY_LINK_ADDRESS, LINK, [new OptionRequestOption([47])]),
    );
    assert.deepEqual(messages.map((m) => m.constructor), [
      LeasequeryReplyMessage,
      LeasequeryDataMessage,
      LeasequeryDataMessage,
      LeasequeryDataMessage,
      LeasequeryDoneMessage,
    ]);
    const relayData = messages.slice(0, 4).map((m) =>
      m.getOption(ClientDataOption)!.options.some((o) => o instanceof LQRelayDataOption)
    );
    assert.deepEqual(relayData, [false, false, true, true]);
    assert.equal(new Set(messages.slice(0, 4).map(clientIdOf)).size, 4);
    // Every message counted: the reply by the pipeline, the 4 streamed ones afterwards.
    assert.equal(s.streamed.reduce((a, b) => a + b, 0), 4);
    assert.equal(s.stats.sets.get("global")![OUTGOING], 5);
    assert.equal(s.listener.counters.sent, 5);
  } finally {
    await s.close();
  }
});

/** A store answering with fixed records; counts cursors opened and closed. */
class FixedStore implements LeaseStore {
  opened = 0;
  closed = 0;
  readonly available = true;

  constructor(readonly records: () => ClientRecord[]) {}

  open(): void {}
  remember(): void {}
  close(): void {}

  find(_query: LQQueryOption, _q: QueryOptions, _stream: boolean): ClientCursor {
    const records = this.records();
    let i = 0;
    let done = false;
    this.opened++;
    const cursor: ClientCursor = {
      next: () => {
        if (done || i >= records.length) {
          cursor.close();
          return { done: true, value: undefined };
        }
        return { done: false, value: records[i++] };
      },
      close: () => {
        if (done) return;
        done = true;
        this.closed++;
      },
      [Symbol.iterator]() {
        return cursor;
      },
    };
    return cursor;
  }
}

function record(n: number, extra: ClientDataOption["options"] = []): ClientRecord {
  return {
    linkAddress: LINK,
    clientData: new ClientDataOption([
      new ClientIdOption(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, n]))),
      ...extra,
    ]),
  };
}

Deno.test("tcp: a streamed message that cannot be encoded is skipped, the stream goes on", async () => {
  const store = new FixedStore(() => [
    record(1),
    record(2, [new UnknownOption(9999, new Uint8Array(40_000))]),
    // Cannot be encoded: the Client Data option would exceed 65,535 bytes.
    record(3, [
      new UnknownOption(9999, new Uint8Array(40_000)),
      new UnknownOption(9998, new Uint8Array(40_000)),
    ]),
    record(4),
  ]);
  const s = await tcpSetup([new LeasequeryHandler(store)]);
  try {
    const messages = await ask(s.listener, leasequery(QUERY_BY_LINK_ADDRESS, LINK));
    assert.deepEqual(messages.map((m) => m.constructor), [
      LeasequeryReplyMessage,
      LeasequeryDataMessage,
      LeasequeryDataMessage,
      LeasequeryDoneMessage,
    ]);
    assert.deepEqual(messages.slice(0, 3).map(clientIdOf), [
      "000300010200000000" + "01",
      "000300010200000000" + "02",
      "000300010200000000" + "04",
    ]);
    assert.equal(messages[3].getOption(StatusCodeOption)!.statusCode, StatusCode.Success);
    assert.equal(s.listener.counters.unsendable, 1);
    assert.equal(s.stats.sets.get("global")![OUTGOING], 4);
    assert.equal(store.closed, store.opened);
    // The connection and the listener still work.
    const again = await ask(s.listener, leasequery(QUERY_BY_LINK_ADDRESS, LINK));
    assert.equal(again.length, 4);
  } finally {
    await s.close();
  }
});

/** Turns every answer into a status reply after the leasequery handler has answered. */
class StatusAfterAnswer extends Handler {
  override post(): void {
    throw new ReplyWithLeasequeryError(StatusCode.UnspecFail, "changed my mind");
  }
}

Deno.test("bulk answer ending as a status reply releases the store cursor", async () => {
  const store = new FixedStore(() => [record(1), record(2), record(3)]);
  // Through the pipeline alone.
  const handler = lqPipeline([new LeasequeryHandler(store), new StatusAfterAnswer()]);
  const result = settled(handler.handle(
    packet(leasequery(QUERY_BY_LINK_ADDRESS, LINK), {
      tcp: true,
      multicast: false,
      source: "::1",
    }),
    new StatisticsStore(),
  ));
  assert.equal(result.outcome, "status");
  assert.equal(result.bundle?.moreResponses, undefined);
  assert.deepEqual([store.opened, store.closed], [1, 1]);

  // And over TCP, with a real SQLite cursor: no read transaction is left open.
  const dir = tempDir();
  const path = `${dir.path}/lq.sqlite`;
  seedClients(path, 3);
  const sqlite = new LeasequerySqliteStore(path);
  const s = await tcpSetup([new LeasequeryHandler(sqlite), new StatusAfterAnswer()], dir.remove);
  try {
    for (let i = 0; i < 3; i++) {
      const messages = await ask(s.listener, leasequery(QUERY_BY_LINK_ADDRESS, LINK));
      assert.equal(messages.length, 1);
      assert.equal(
        messages[0].getOption(StatusCodeOption)!.statusCode,
        StatusCode.UnspecFail,
      );
    }
    // With a reader still holding a snapshot, a checkpoint could not truncate the WAL.
    const db = openDatabase(path, 5000);
    db.exec("BEGIN IMMEDIATE");
    db.prepare("UPDATE clients SET last_interaction = 1").run();
    db.exec("COMMIT");
    const checkpoint = db.prepare("PRAGMA wal_checkpoint(TRUNCATE)").get() as {
      busy: number;
    };
    db.close();
    assert.equal(checkpoint.busy, 0, "no reader holds a snapshot");
  } finally {
    await s.close();
  }
});

Deno.test("udp: client-id query with ORO 47 for a poisoned client returns it without relay data", async () => {
  const dir = tempDir();
  const path = `${dir.path}/lq.sqlite`;
  seedClients(path, 1);
  poison(path, { 1: relayBlob(65_400) });
  const handler = lqPipeline([new LeasequeryHandler(new LeasequerySqliteStore(path))]);
  await handler.workerInit();
  try {
    const duid = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0]));
    const result = settled(handler.handle(
      packet(
        leasequery(QUERY_BY_CLIENTID, "::", [
          new ClientIdOption(duid),
          new OptionRequestOption([47]),
        ]),
        { multicast: false, source: "2001:db8:ffff::10" },
      ),
      new StatisticsStore(),
    ));
    assert.equal(result.outcome, "reply");
    const reply = parseMessage(result.replies[0].data) as LeasequeryReplyMessage;
    const data = reply.getOption(ClientDataOption)!;
    assert.equal((data.options[0] as ClientIdOption).duid.toHex(), duid.toHex());
    assert.ok(!data.options.some((o) => o instanceof LQRelayDataOption));
  } finally {
    await handler.close();
    dir.remove();
  }
});
