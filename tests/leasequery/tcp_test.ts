import assert from "node:assert/strict";
import { LeasequeryHandler } from "../../src/handlers/leasequery/handler.ts";
import { LeasequerySqliteStore } from "../../src/handlers/leasequery/sqlite.ts";
import { StatisticsStore } from "../../src/pipeline/mod.ts";
import type { TcpListener, TcpListenerSettings } from "../../src/server/tcp_listener.ts";
import {
  ClientDataOption,
  ClientIdOption,
  type ClientServerMessage,
  ElapsedTimeOption,
  InformationRequestMessage,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryReplyMessage,
  OptionRequestOption,
  parseIPv6,
  parseMessage,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_REMOTE_ID,
  RecursiveNameServersOption,
  RemoteIdOption,
  serializeMessage,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { encodeOptions } from "../../src/handlers/leasequery/store.ts";
import {
  frame,
  FrameReader,
  leasequery,
  lqPipeline,
  seedClients,
  tempDir,
  testTcpListener,
} from "./lq_helpers.ts";
import { CLIENT_DUID } from "../pipeline/helpers.ts";

interface Setup {
  listener: TcpListener;
  close: () => Promise<void>;
  dbPath: string;
}

async function setup(
  settings: Partial<TcpListenerSettings> = {},
  seed?: (path: string) => void,
): Promise<Setup> {
  const dir = tempDir();
  const dbPath = `${dir.path}/lq.sqlite`;
  seed?.(dbPath);
  const handler = lqPipeline([new LeasequeryHandler(new LeasequerySqliteStore(dbPath))]);
  await handler.workerInit();
  const stats = new StatisticsStore();
  const listener = testTcpListener(settings);
  listener.serve((packet) => handler.handle(packet, stats));
  return {
    listener,
    dbPath,
    close: async () => {
      await listener.close(200);
      await handler.close();
      dir.remove();
    },
  };
}

function connect(l: TcpListener): Promise<Deno.TcpConn> {
  return Deno.connect({ transport: "tcp", hostname: "::1", port: l.port });
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await conn.write(data.subarray(off));
}

async function readAnswer(reader: FrameReader): Promise<ClientServerMessage[]> {
  const out: ClientServerMessage[] = [];
  for (;;) {
    const data = await reader.next();
    if (!data) return out;
    const m = parseMessage(data) as ClientServerMessage;
    out.push(m);
    if (m instanceof LeasequeryDoneMessage) return out;
    if (m instanceof LeasequeryReplyMessage && !m.getOption(ClientDataOption)) return out;
  }
}

/** Resolves true when the peer closes the connection within `ms`. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const timer = setTimeout(() => conn.close(), ms + 500);
  try {
    const start = performance.now();
    const n = await conn.read(new Uint8Array(100));
    return n === null && performance.now() - start <= ms + 400;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

Deno.test("tcp: partial reads, several queries per connection, non-leasequery dropped", async () => {
  const s = await setup({}, (p) => seedClients(p, 3, { remoteId: "9:616263" }));
  try {
    const conn = await connect(s.listener);
    const reader = new FrameReader(conn);
    // One query sent a byte at a time.
    const q1 = frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:1::1", [], 1)));
    for (const b of q1) {
      await writeAll(conn, new Uint8Array([b]));
      await new Promise((r) => setTimeout(r, 1));
    }
    const a1 = await readAnswer(reader);
    assert.deepEqual(a1.map((m) => m.constructor), [
      LeasequeryReplyMessage,
      LeasequeryDataMessage,
      LeasequeryDataMessage,
      LeasequeryDoneMessage,
    ]);
    // A non-leasequery message, then two queries in one write.
    const info = new InformationRequestMessage(7, [
      new ClientIdOption(CLIENT_DUID),
      new ElapsedTimeOption(0),
    ]);
    const q2 = frame(serializeMessage(
      leasequery(
        QUERY_BY_REMOTE_ID,
        "::",
        [new RemoteIdOption(9, new TextEncoder().encode("abc"))],
        2,
      ),
    ));
    const q3 = frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:99::1", [], 3)));
    await writeAll(conn, new Uint8Array([...frame(serializeMessage(info)), ...q2, ...q3]));
    const a2 = await readAnswer(reader);
    assert.equal(a2.length, 4);
    assert.ok(a2.every((m) => m.transactionId === 2));
    const a3 = await readAnswer(reader);
    assert.equal(a3.length, 1);
    assert.equal(a3[0].transactionId, 3);
    assert.equal(a3[0].getOption(ClientDataOption), undefined);
    // Garbage (unparsable) is dropped too and the connection stays usable.
    await writeAll(conn, frame(new Uint8Array([14, 1, 2])));
    await writeAll(conn, q1);
    assert.equal((await readAnswer(reader)).length, 4);
    conn.close();
    assert.equal(s.listener.counters.dropped, 2);
    assert.equal(s.listener.counters.messages, 6);
  } finally {
    await s.close();
  }
});

Deno.test("tcp: allow-from and max-connections are enforced at accept", async () => {
  const refused = await setup({
    allowFrom: [{ bytes: parseIPv6("2001:db8::"), length: 32 }],
  });
  try {
    assert.ok(await closedWithin(await connect(refused.listener), 1000));
    assert.equal(refused.listener.counters.refusedNotAllowed, 1);
  } finally {
    await refused.close();
  }
  const s = await setup({
    maxConnections: 2,
    allowFrom: [{ bytes: parseIPv6("::1"), length: 128 }],
  });
  try {
    const a = await connect(s.listener);
    const b = await connect(s.listener);
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(await closedWithin(await connect(s.listener), 1000), "third connection closed");
    assert.equal(s.listener.counters.refusedTooMany, 1);
    a.close();
    await new Promise((r) => setTimeout(r, 50));
    const c = await connect(s.listener);
    const reader = new FrameReader(c);
    await writeAll(c, frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:1::1"))));
    assert.equal((await readAnswer(reader)).length, 1, "a freed slot is usable");
    b.close();
    c.close();
  } finally {
    await s.close();
  }
});

Deno.test("tcp: a frame with a lying length hits the idle timeout", async () => {
  const s = await setup({ idleTimeout: 300 });
  try {
    const conn = await connect(s.listener);
    await writeAll(conn, new Uint8Array([0x03, 0xe8, 14, 0, 0, 1, 0, 1]));
    assert.ok(await closedWithin(conn, 1000));
    assert.equal(s.listener.counters.idleTimeouts, 1);
    // A connection that sends nothing at all is closed too.
    assert.ok(await closedWithin(await connect(s.listener), 1000));
    assert.equal(s.listener.counters.idleTimeouts, 2);
  } finally {
    await s.close();
  }
});

Deno.test("tcp: a peer that never reads is cut off by the send timeout", async () => {
  const big = encodeOptions([
    new RecursiveNameServersOption(
      Array.from({ length: 120 }, (_, i) => `2001:db8::${(i + 1).toString(16)}`),
    ),
  ]);
  const s = await setup({ sendTimeout: 300 }, (p) => seedClients(p, 20000, { optionBytes: big }));
  try {
    const conn = await connect(s.listener);
    const query = leasequery(QUERY_BY_LINK_ADDRESS, "::", [new OptionRequestOption([23])]);
    await writeAll(conn, frame(serializeMessage(query)));
    // Never read: 20,000 x ~2 KB cannot fit in the socket buffers.
    const deadline = Date.now() + 10000;
    while (s.listener.counters.sendTimeouts === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(s.listener.counters.sendTimeouts, 1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(s.listener.connectionCount, 0);
    conn.close();
  } finally {
    await s.close();
  }
});

Deno.test("tcp: closing the listener ends a running bulk reply with QueryTerminated", async () => {
  const s = await setup({}, (p) => seedClients(p, 5000));
  try {
    const conn = await connect(s.listener);
    const reader = new FrameReader(conn);
    await writeAll(conn, frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS))));
    assert.ok(await reader.next());
    const closing = s.listener.close(2000);
    const rest = await readAnswer(reader);
    await closing;
    const last = rest[rest.length - 1];
    assert.ok(last instanceof LeasequeryDoneMessage);
    assert.ok(rest.length < 5000);
    assert.equal(last.getOption(StatusCodeOption)!.statusCode, StatusCode.QueryTerminated);
    conn.close();
  } finally {
    await s.close();
  }
});

Deno.test("tcp: empty or dropped frames do not keep a connection alive; answered queries do", async () => {
  // Issue 20: a peer held a slot forever by sending an empty frame every 50 s (idle 120 s).
  const s = await setup({ idleTimeout: 600 });
  try {
    const junk = await connect(s.listener);
    const opened = performance.now();
    const closed = closedWithin(junk, 1200);
    // An empty frame and a garbage frame every 150 ms: all dropped, none is activity.
    let sent = 0;
    for (let i = 0; i < 8; i++) {
      try {
        await writeAll(junk, i % 2 ? frame(new Uint8Array([0xff, 1, 2])) : new Uint8Array([0, 0]));
        sent++;
      } catch {
        break; // closed by the server
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    assert.ok(sent >= 3, `${sent} frames sent`);
    assert.ok(await closed, "closed by the idle timer");
    assert.ok(performance.now() - opened < 1200);
    assert.equal(s.listener.counters.idleTimeouts, 1);
    assert.ok(s.listener.counters.dropped >= 4);

    // Answered queries 300 ms apart keep a connection open past 600 ms.
    const good = await connect(s.listener);
    const reader = new FrameReader(good);
    for (let i = 0; i < 4; i++) {
      await writeAll(good, frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "::"))));
      assert.ok((await reader.next()) !== null, `answer ${i}`);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(s.listener.counters.idleTimeouts, 1, "the answered connection is still open");
    good.close();
  } finally {
    await s.close();
  }
});

Deno.test("tcp: idle-timeout is a <listen-tcp> key (default 2 minutes, at least 1 second)", async () => {
  const { tcpSettings } = await import("../../src/server/tcp_listener.ts");
  const { loadText } = await import("../config/helpers.ts");
  const settings = (keys: string) => {
    const r = loadText(`<listen-tcp ::1>\n    allow-from ::1\n${keys}</listen-tcp>\n`);
    assert.deepEqual(r.errors, []);
    return tcpSettings(r.config!.listeners[0], []);
  };
  assert.equal(settings("    idle-timeout 45s\n").idleTimeout, 45_000);
  assert.equal(settings("").idleTimeout, 120_000);
  const zero = (await import("../config/helpers.ts")).loadText(
    "<listen-tcp ::1>\n    allow-from ::1\n    idle-timeout 0\n</listen-tcp>\n",
  );
  assert.match(zero.errors.map((e) => e.message).join("\n"), /idle-timeout must be at least 1/);
});

Deno.test("tcp: a long bulk answer interleaves with other connections and UDP on the same thread", async () => {
  const clients = 20000;
  const s = await setup({}, (p) => {
    seedClients(p, clients);
    seedClients(p, 1, { link: "2001:db8:2::1", first: clients });
  });
  // A UDP echo served by the same event loop, as the deno backend's requests are.
  const echo = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const udp = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  const echoing = (async () => {
    try {
      for (;;) {
        const [data, from] = await echo.receive();
        await echo.send(data, from);
      }
    } catch {
      // closed
    }
  })();
  try {
    const bulk = await connect(s.listener);
    const bulkReader = new FrameReader(bulk);
    await writeAll(bulk, frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "::", [], 1))));
    assert.ok(await bulkReader.next(), "the bulk answer started");
    let bulkDone = false;
    const bulkRest = readAnswer(bulkReader).then((m) => {
      bulkDone = true;
      return m;
    });
    // Meanwhile: a query on another connection, and UDP round trips.
    const other = await connect(s.listener);
    await writeAll(
      other,
      frame(serializeMessage(leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:2::1", [], 2))),
    );
    const answer = await readAnswer(new FrameReader(other));
    assert.equal(answer.at(-1)?.transactionId, 2);
    assert.equal(bulkDone, false, "the other connection was answered during the bulk answer");
    await udp.send(new Uint8Array([1, 2, 3]), echo.addr);
    await udp.receive();
    assert.equal(bulkDone, false, "a UDP round trip completed during the bulk answer");
    const rest = await bulkRest;
    // 20,001 clients on every link ("::"): LEASEQUERY-REPLY (read above), 20,000
    // LEASEQUERY-DATA, LEASEQUERY-DONE.
    assert.equal(rest.length, clients + 1);
    assert.ok(rest.at(-1) instanceof LeasequeryDoneMessage);
    bulk.close();
    other.close();
  } finally {
    echo.close();
    udp.close();
    await echoing;
    await s.close();
  }
});
