import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { LeasequeryHandler } from "../../src/handlers/leasequery/handler.ts";
import { LeasequerySqliteStore } from "../../src/handlers/leasequery/sqlite.ts";
import { pipeline as plainPipeline } from "../pipeline/helpers.ts";
import { type MessageHandler, scalarIndex } from "../../src/pipeline/mod.ts";
import {
  ClientDataOption,
  ClientIdOption,
  type ClientServerMessage,
  CLTTimeOption,
  EnterpriseDuid,
  IAAddressOption,
  IAPrefixOption,
  LeasequeryDataMessage,
  LeasequeryDoneMessage,
  LeasequeryReplyMessage,
  LinkLayerDuid,
  LQClientLinkOption,
  LQRelayDataOption,
  OptionRequestOption,
  parseIPv6,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayIdOption,
  ReleaseMessage,
  RemoteIdOption,
  RenewMessage,
  RequestMessage,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { elapsed, iana, iapd, relayed, run, serverId } from "../pipeline/helpers.ts";
import { AssignHandler, type Assignment, leasequery, lqPipeline, tempDir } from "./lq_helpers.ts";

const DUID_A = new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, 0xaa, 0x01]));
const DUID_B = new LinkLayerDuid(1, new Uint8Array([0x02, 0, 0, 0, 0xbb, 0x02]));
const RELAY_DUID = new EnterpriseDuid(9, new Uint8Array([1, 2, 3]));
const LINK = "2001:db8:1::1";
const RELAY_ADDRESS = "2001:db8:1::2";
const REQUESTOR_ADDRESS = "2001:db8:ffff::10";

interface World {
  clock: { t: number };
  store: LeasequerySqliteStore;
  lq: LeasequeryHandler;
  assign: AssignHandler;
  handler: MessageHandler;
  dir: { path: string; remove: () => void };
  close: () => Promise<void>;
}

async function world(table: Record<string, Assignment>): Promise<World> {
  const dir = tempDir();
  const clock = { t: Math.floor(Date.now() / 1000) };
  const store = new LeasequerySqliteStore(`${dir.path}/lq.sqlite`);
  const lq = new LeasequeryHandler(
    store,
    [{ bytes: parseIPv6("2001:db8:ffff::"), length: 48 }],
    [24],
    () => clock.t,
  );
  const assign = new AssignHandler(new Map(Object.entries(table)));
  const handler = lqPipeline([assign, lq]);
  await handler.workerInit();
  return {
    clock,
    store,
    lq,
    assign,
    handler,
    dir,
    close: async () => {
      await handler.close();
      dir.remove();
    },
  };
}

/** A Request for an address and a prefix, relayed with a Remote-ID and a Relay-ID. */
function requestFrom(duid: LinkLayerDuid, link = LINK, remote = "abc") {
  const request = new RequestMessage(0x1000, [
    new ClientIdOption(duid),
    serverId(),
    elapsed(0),
    iana(1),
    iapd(2),
    new OptionRequestOption([23, 24]),
  ]);
  return relayed(request, link, "fe80::1", [
    new RemoteIdOption(9, new TextEncoder().encode(remote)),
    new RelayIdOption(RELAY_DUID),
  ]);
}

function assign(w: World, duid: LinkLayerDuid, link = LINK, remote = "abc") {
  const r = run(w.handler, requestFrom(duid, link, remote), {
    source: RELAY_ADDRESS,
    sourcePort: 547,
    multicast: false,
  });
  assert.equal(r.result.outcome, "reply");
  return r;
}

/** Send a leasequery (UDP unless tcp) from the allowed requestor. */
function query(w: World, message: ClientServerMessage, o: { source?: string; tcp?: boolean } = {}) {
  const r = run(w.handler, message, {
    source: o.source ?? REQUESTOR_ADDRESS,
    multicast: false,
    tcp: o.tcp ?? false,
  });
  return r;
}

function statusOf(m: ClientServerMessage | undefined): number | undefined {
  return m?.getOption(StatusCodeOption)?.statusCode;
}

function all(r: ReturnType<typeof query>): ClientServerMessage[] {
  const out = [r.reply!];
  const more = r.result.bundle?.moreResponses as Iterable<ClientServerMessage> | undefined;
  if (more) { for (const m of more) out.push(m); }
  return out;
}

const TABLE = {
  [DUID_A.toHex()]: { address: "2001:db8:1::100", prefix: "2001:db8:ff00::", prefixLength: 56 },
  [DUID_B.toHex()]: { address: "2001:db8:1::200", prefix: "2001:db8:ff01::", prefixLength: 56 },
};

Deno.test("leasequery: by address inside a delegated prefix and by client-id over UDP", async () => {
  const w = await world(TABLE);
  try {
    assign(w, DUID_A);
    w.clock.t += 100;

    const byPrefix = query(
      w,
      leasequery(QUERY_BY_ADDRESS, "::", [
        new IAAddressOption("2001:db8:ff00:12::34", 0, 0),
        new OptionRequestOption([23, 24, 47]),
      ]),
    );
    assert.ok(byPrefix.reply instanceof LeasequeryReplyMessage);
    const data = byPrefix.reply.getOption(ClientDataOption)!;
    assert.ok(data, "client data present");
    const cid = data.options.find((o) => o instanceof ClientIdOption) as ClientIdOption;
    assert.equal(cid.duid.toHex(), DUID_A.toHex());
    const addr = data.options.find((o) => o instanceof IAAddressOption) as IAAddressOption;
    assert.equal(addr.address, "2001:db8:1::100");
    assert.equal(addr.preferredLifetime, 3500);
    assert.equal(addr.validLifetime, 7100);
    const prefix = data.options.find((o) => o instanceof IAPrefixOption) as IAPrefixOption;
    assert.equal(prefix.prefix, "2001:db8:ff00::");
    assert.equal(prefix.prefixLength, 56);
    assert.equal(prefix.validLifetime, 7100);
    const clt = data.options.find((o) => o instanceof CLTTimeOption) as CLTTimeOption;
    assert.equal(clt.cltTime, 100);
    // Requested option 23 is returned, sensitive option 24 never is.
    assert.ok(data.options.some((o) => o instanceof RecursiveNameServersOption));
    assert.ok(!data.options.some((o) => o.code === 24));
    // Relay data: the relay's address and its relay-forward without the client's message.
    const relayData = data.options.find((o) => o instanceof LQRelayDataOption) as LQRelayDataOption;
    assert.equal(relayData.peerAddress, RELAY_ADDRESS);
    const rf = relayData.message as RelayForwardMessage;
    assert.ok(rf instanceof RelayForwardMessage);
    assert.equal(rf.linkAddress, LINK);
    assert.ok(rf.options.some((o) => o instanceof RemoteIdOption));
    assert.ok(!rf.options.some((o) => o.code === 9));

    const byClient = query(
      w,
      leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_A)]),
    );
    const data2 = byClient.reply!.getOption(ClientDataOption)!;
    assert.ok(data2);
    assert.ok(!data2.options.some((o) => o instanceof LQRelayDataOption), "47 not requested");
    assert.ok(!data2.options.some((o) => o.code === 23), "23 not requested");
    assert.equal(
      (data2.options.find((o) => o instanceof IAAddressOption) as IAAddressOption).validLifetime,
      7100,
    );
    // Not found: a bare reply.
    const none = query(w, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_B)]));
    assert.ok(none.reply instanceof LeasequeryReplyMessage);
    assert.equal(none.reply.getOption(ClientDataOption), undefined);
    assert.equal(statusOf(none.reply), undefined);
    // A link filter that does not match.
    const other = query(
      w,
      leasequery(QUERY_BY_CLIENTID, "2001:db8:9::1", [new ClientIdOption(DUID_A)]),
    );
    assert.equal(other.reply!.getOption(ClientDataOption), undefined);
  } finally {
    await w.close();
  }
});

Deno.test("leasequery: TCP by link-address and by remote-id stream REPLY, DATA, DONE", async () => {
  const w = await world(TABLE);
  try {
    assign(w, DUID_A, LINK, "abc");
    assign(w, DUID_B, LINK, "abc");
    w.clock.t += 10;
    for (
      const q of [
        leasequery(QUERY_BY_LINK_ADDRESS, LINK),
        leasequery(QUERY_BY_REMOTE_ID, "::", [
          new RemoteIdOption(9, new TextEncoder().encode("abc")),
        ]),
        leasequery(QUERY_BY_RELAY_ID, "::", [new RelayIdOption(RELAY_DUID)]),
      ]
    ) {
      const messages = all(query(w, q, { tcp: true }));
      assert.deepEqual(messages.map((m) => m.constructor), [
        LeasequeryReplyMessage,
        LeasequeryDataMessage,
        LeasequeryDoneMessage,
      ]);
      assert.ok(messages.every((m) => m.transactionId === 0x123456));
      const duids = messages.slice(0, 2).map((m) =>
        (m.getOption(ClientDataOption)!.options[0] as ClientIdOption).duid.toHex()
      );
      assert.deepEqual(duids.sort(), [DUID_A.toHex(), DUID_B.toHex()].sort());
      const lifetimes = messages.slice(0, 2).map((m) =>
        (m.getOption(ClientDataOption)!.options.find((o) =>
          o instanceof IAAddressOption
        ) as IAAddressOption).validLifetime
      );
      assert.deepEqual(lifetimes, [7190, 7190]);
      assert.equal(statusOf(messages[2]), StatusCode.Success);
    }
    // Nothing found over TCP: only the reply, no DONE.
    const empty = all(query(w, leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:77::1"), { tcp: true }));
    assert.equal(empty.length, 1);
    assert.equal(empty[0].getOption(ClientDataOption), undefined);
    // Non-leasequery over TCP is dropped.
    const renew = run(
      w.handler,
      new RenewMessage(1, [new ClientIdOption(DUID_A), serverId(), elapsed(0)]),
      {
        tcp: true,
        multicast: false,
        source: REQUESTOR_ADDRESS,
      },
    );
    assert.equal(renew.result.outcome, "do_not_respond");
    assert.equal(renew.reply, undefined);
  } finally {
    await w.close();
  }
});

Deno.test("leasequery: NotAllowed, bulk over UDP, UnknownQueryType, MalformedQuery", async () => {
  const w = await world(TABLE);
  try {
    assign(w, DUID_A);
    const outside = query(
      w,
      leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_A)]),
      { source: "2001:db8:eeee::1" },
    );
    assert.ok(outside.reply instanceof LeasequeryReplyMessage);
    assert.equal(statusOf(outside.reply), StatusCode.NotAllowed);
    assert.equal(outside.reply.getOption(ClientDataOption), undefined);
    assert.equal(outside.stats.sets.get("global")![scalarIndex("not_allowed")], 1);

    for (const type of [QUERY_BY_RELAY_ID, QUERY_BY_LINK_ADDRESS, QUERY_BY_REMOTE_ID]) {
      const bulk = query(w, leasequery(type, LINK));
      assert.equal(statusOf(bulk.reply), StatusCode.NotAllowed, `type ${type} over UDP`);
    }
    const unknown = query(w, leasequery(9));
    assert.equal(statusOf(unknown.reply), StatusCode.UnknownQueryType);
    const malformed = query(w, leasequery(QUERY_BY_ADDRESS));
    assert.equal(statusOf(malformed.reply), StatusCode.MalformedQuery);
    const malformed2 = query(w, leasequery(QUERY_BY_CLIENTID));
    assert.equal(statusOf(malformed2.reply), StatusCode.MalformedQuery);
    const malformedTcp = query(w, leasequery(QUERY_BY_REMOTE_ID), { tcp: true });
    assert.equal(statusOf(malformedTcp.reply), StatusCode.MalformedQuery);
    // The replies carry the requestor's Client ID and our Server ID.
    assert.ok(malformed.reply!.getOption(ClientIdOption));
  } finally {
    await w.close();
  }
});

Deno.test("leasequery: without a handler every query type is unknown", () => {
  const handler = lqPipeline([]);
  const r = run(handler, leasequery(QUERY_BY_ADDRESS, "::", [new IAAddressOption("2001:db8::1")]), {
    multicast: false,
    source: REQUESTOR_ADDRESS,
  });
  assert.equal(statusOf(r.reply), StatusCode.UnknownQueryType);
  // Decision 17: unicast leasequery never gets UseMulticast, even in a plain pipeline.
  const plain = run(plainPipeline([]), leasequery(1), { multicast: false });
  assert.notEqual(statusOf(plain.reply), StatusCode.UseMulticast);
});

Deno.test("leasequery: a client on two links gets LQ_CLIENT_LINK over UDP", async () => {
  const w = await world(TABLE);
  try {
    assign(w, DUID_A, "2001:db8:1::1");
    w.assign.table.set(DUID_A.toHex(), { address: "2001:db8:2::100" });
    assign(w, DUID_A, "2001:db8:2::1");
    const r = query(w, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_A)]));
    const links = r.reply!.getOption(LQClientLinkOption)!;
    assert.deepEqual(links.linkAddresses.sort(), ["2001:db8:1::1", "2001:db8:2::1"]);
    assert.equal(r.reply!.getOption(ClientDataOption), undefined);
    // With a link filter the client data comes back.
    const one = query(
      w,
      leasequery(QUERY_BY_CLIENTID, "2001:db8:2::1", [new ClientIdOption(DUID_A)]),
    );
    const data = one.reply!.getOption(ClientDataOption)!;
    assert.equal(
      (data.options.find((o) => o instanceof IAAddressOption) as IAAddressOption).address,
      "2001:db8:2::100",
    );
  } finally {
    await w.close();
  }
});

Deno.test("leasequery store: takeover, release keeps leases, survives restarts, cleans up", async () => {
  const w = await world(TABLE);
  const path = `${w.dir.path}/lq.sqlite`;
  try {
    assign(w, DUID_A);
    // Client B now gets A's address and a prefix overlapping A's.
    w.assign.table.set(DUID_B.toHex(), {
      address: "2001:db8:1::100",
      prefix: "2001:db8:ff00:80::",
      prefixLength: 57,
    });
    assign(w, DUID_B);
    const q = query(
      w,
      leasequery(QUERY_BY_ADDRESS, "::", [new IAAddressOption("2001:db8:1::100")]),
    );
    const cid = q.reply!.getOption(ClientDataOption)!.options[0] as ClientIdOption;
    assert.equal(cid.duid.toHex(), DUID_B.toHex());
    const a = query(w, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_A)]));
    assert.equal(a.reply!.getOption(ClientDataOption), undefined, "A lost all its leases");
    // Release does not delete leases.
    run(
      w.handler,
      relayed(
        new ReleaseMessage(5, [
          new ClientIdOption(DUID_B),
          serverId(),
          elapsed(0),
          iana(1, "2001:db8:1::100"),
        ]),
        LINK,
      ),
      { source: RELAY_ADDRESS, multicast: false },
    );
    const still = query(w, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_B)]));
    assert.ok(still.reply!.getOption(ClientDataOption));

    // Restart: a new store on the same file answers the same.
    await w.handler.close();
    const store2 = new LeasequerySqliteStore(path);
    const lq2 = new LeasequeryHandler(store2, [], [], () => w.clock.t);
    const h2 = lqPipeline([lq2]);
    await h2.workerInit();
    const again = run(h2, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_B)]), {
      multicast: false,
    });
    assert.ok(again.reply!.getOption(ClientDataOption));
    await h2.close();

    // Leases that expired are removed when a store opens.
    const db = new DatabaseSync(path);
    db.exec(
      "UPDATE addresses SET valid_lifetime_end = 1; UPDATE prefixes SET valid_lifetime_end = 1",
    );
    db.exec("DELETE FROM meta");
    db.close();
    const store3 = new LeasequerySqliteStore(path);
    store3.open(new Set());
    store3.close();
    const check = new DatabaseSync(path);
    const counts = check.prepare(
      "SELECT (SELECT count(*) FROM clients) AS c, (SELECT count(*) FROM addresses) AS a",
    ).get() as { c: number; a: number };
    check.close();
    assert.deepEqual({ ...counts }, { c: 0, a: 0 });
  } finally {
    w.dir.remove();
  }
});

Deno.test("leasequery store: a corrupt database makes queries fail cleanly, not the server", async () => {
  const dir = tempDir();
  try {
    const path = `${dir.path}/broken.sqlite`;
    Deno.writeTextFileSync(path, "this is not a database, just some text ".repeat(200));
    const store = new LeasequerySqliteStore(path);
    const lq = new LeasequeryHandler(store, [], []);
    const assignHandler = new AssignHandler(new Map(Object.entries(TABLE)));
    const h = lqPipeline([assignHandler, lq]);
    await h.workerInit(); // does not throw
    assert.equal(store.available, false);
    // Normal requests are still answered (recording is skipped and counted).
    const r = run(h, requestFrom(DUID_A), { source: RELAY_ADDRESS, multicast: false });
    assert.equal(r.result.outcome, "reply");
    assert.ok(store.skippedRecords >= 1);
    const q = run(h, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(DUID_A)]), {
      multicast: false,
    });
    assert.equal(statusOf(q.reply), StatusCode.UnspecFail);
    await h.close();
  } finally {
    dir.remove();
  }
});

Deno.test("leasequery store: a locked database skips recording quickly", async () => {
  const w = await world(TABLE);
  try {
    const locker = new DatabaseSync(`${w.dir.path}/lq.sqlite`);
    locker.exec("BEGIN IMMEDIATE");
    const start = performance.now();
    const r = assign(w, DUID_A);
    const first = performance.now() - start;
    const start2 = performance.now();
    assign(w, DUID_B);
    const second = performance.now() - start2;
    locker.exec("ROLLBACK");
    locker.close();
    assert.equal(r.result.outcome, "reply");
    assert.equal(w.store.skippedRecords, 2);
    assert.ok(first < 1000, `first record waited ${first} ms`);
    assert.ok(second < 50, `second record should not wait at all (${second} ms)`);
  } finally {
    await w.close();
  }
});
