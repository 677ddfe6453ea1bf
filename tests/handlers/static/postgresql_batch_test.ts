/**
 * Batched `<static-postgresql>` lookups: the lookups started in one turn share one query, and
 * each request still gets exactly the row static-csv gives it (the first id kind, in lookup
 * order, that has a row); a query that fails drops every request it carried, counted, with the
 * outage cache still answering the requests whose rows were read before.
 */

import assert from "node:assert/strict";
import { openCsvSource, StaticAssignmentHandler } from "../../../src/handlers/static/handler.ts";
import { LookupBatcher, textArrayLiteral } from "../../../src/handlers/static/postgresql/batch.ts";
import type {
  AsyncStaticAssignmentHandler,
  PostgresAssignmentSource,
} from "../../../src/handlers/static/postgresql/mod.ts";
import { type HandleResult, scalarIndex, StatisticsStore } from "../../../src/pipeline/mod.ts";
import {
  type ClientServerMessage,
  InterfaceIdOption,
  LinkLayerDuid,
  LinkLayerIdOption,
  parseMessage,
  RelayMessageOption,
  RelayReplyMessage,
  RemoteIdOption,
  SubscriberIdOption,
} from "../../../src/protocol/mod.ts";
import {
  acquirePool,
  DatabaseUnavailableError,
  parseConnectionUrl,
} from "../../../src/storage/postgresql/mod.ts";
import { handlersFromConfig, type PostgresCluster, postgresTest } from "../../helpers/postgres.ts";
import { iana, iapd, packet, pipelineFromConfig, relayed } from "../../pipeline/helpers.ts";
import { LIFETIMES, solicit } from "./fixtures.ts";
import { addressOf, answer, fillTable, iasOf, staticPostgresqlConfig } from "./lookup_helpers.ts";

const text = (s: string) => new TextEncoder().encode(s);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** A deterministic pseudo-random sequence (so a failure can be replayed). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The ids client `i` presents: its DUID and four relay options (pairs share a remote-id). */
function clientOf(i: number) {
  const duid = new LinkLayerDuid(1, new Uint8Array([0x02, 0x42, 0, 0, i >> 8, i & 0xff]));
  const interfaceId = text(`port-${i}`);
  const remoteId = new Uint8Array([0xaa, (i >> 1) >> 8, (i >> 1) & 0xff]);
  const subscriberId = text(`sub"\\${i}`); // quote and backslash: the array literal escapes them
  const mac = new Uint8Array([0x02, 0x99, 0, 0, i >> 8, i & 0xff]);
  const ids = [
    `duid:${duid.toHex()}`,
    `interface-id:${hex(interfaceId)}`,
    `remote-id:9:${hex(remoteId)}`,
    `subscriber-id:${hex(subscriberId)}`,
    `linklayer-id:1:${hex(mac)}`,
  ];
  const message = relayed(solicit(duid, iana(1), iapd(2)), "2001:db8:ffff::1", "fe80::1", [
    new InterfaceIdOption(interfaceId),
    new RemoteIdOption(9, remoteId),
    new SubscriberIdOption(subscriberId),
    new LinkLayerIdOption(1, mac),
  ]);
  return { ids, message };
}

/**
 * CSV text where each id of `clients` clients has a row with probability 0.35, with an address
 * (and sometimes a prefix) unique to that id, so the row that answered is known from the answer.
 */
function mixedCsv(clients: number): string {
  const next = random(15);
  const lines = ["id,address,prefix"];
  const seen = new Set<string>();
  for (let i = 0; i < clients; i++) {
    for (const id of clientOf(i).ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      if (next() >= 0.35) continue;
      const n = seen.size;
      const prefix = next() < 0.5 ? `2001:db8:${(0x4000 + n).toString(16)}::/48` : "";
      lines.push(`${id},2001:db8:1::${n.toString(16)},${prefix}`);
    }
  }
  return lines.join("\n") + "\n";
}

const CLIENTS = 600;
const CSV = mixedCsv(CLIENTS);

/** The `<static-postgresql>` section for `url`. */
const section: typeof staticPostgresqlConfig = staticPostgresqlConfig;

Deno.test("lookup batcher: one query per turn, in-flight bound, failures, refusal", async (t) => {
  const sent: string[][] = [];
  let fail = false;
  const gates: (() => void)[] = [];
  const batcher = new LookupBatcher<string>(
    async (ids) => {
      sent.push(ids);
      await new Promise<void>((r) => gates.push(r));
      if (fail) throw new Error("gone");
      return new Map(ids.map((id) => [id, id.toUpperCase()]));
    },
    { maxInFlight: 2, maxBatch: 3, maxWaiting: 8 },
  );
  /** Let the oldest running query answer (failing when none runs). */
  const open = async () => {
    for (let i = 0; gates.length === 0; i++) {
      if (i > 100) throw new Error("no query runs");
      await new Promise((r) => setTimeout(r, 0));
    }
    gates.shift()!();
  };

  await t.step("lookups of one turn share queries of at most maxBatch, distinct ids", async () => {
    const asked = [["a", "b"], ["b", "c"], ["c"], ["d"], ["e"], ["f"]].map((ids) =>
      batcher.get(ids)
    );
    await Promise.resolve();
    // Two queries (maxInFlight), three lookups each; the shared ids once.
    assert.deepEqual(sent, [["a", "b", "c"], ["d", "e", "f"]]);
    assert.equal(batcher.inFlight, 2);
    // More while both run: they wait, and go together when one comes back.
    const later = [batcher.get(["g"]), batcher.get(["h"])];
    await Promise.resolve();
    assert.equal(sent.length, 2);
    assert.equal(batcher.waiting, 2);
    await open();
    const first = await asked[0];
    assert.equal(first.get("a"), "A");
    assert.equal(first.get("b"), "B");
    await new Promise((r) => setTimeout(r, 0));
    assert.equal(sent.length, 3);
    assert.deepEqual(sent[2], ["g", "h"]);
    await open();
    await open();
    assert.equal((await asked[5]).get("f"), "F");
    assert.equal((await later[1]).get("h"), "H");
    assert.equal(batcher.queries, 3);
    assert.equal(batcher.lookups, 8);
  });

  await t.step("a failed query fails exactly the lookups it carried", async () => {
    fail = true;
    const failing = [batcher.get(["x"]), batcher.get(["y"])];
    await Promise.resolve();
    await open();
    for (const p of failing) await assert.rejects(p, /gone/);
    fail = false;
    const ok = batcher.get(["z"]);
    await open();
    assert.equal((await ok).get("z"), "Z");
  });

  await t.step("beyond maxWaiting a lookup is refused at once", async () => {
    const held = Array.from({ length: 6 }, (_, i) => batcher.get([`h${i}`]));
    await Promise.resolve(); // two queries of three run now
    const queued = Array.from({ length: 8 }, (_, i) => batcher.get([`q${i}`]));
    await assert.rejects(batcher.get(["one too many"]), DatabaseUnavailableError);
    assert.equal(batcher.refused, 1);
    for (let i = 0; i < 5; i++) await open(); // 14 lookups, three at a time
    assert.equal(batcher.waiting, 0);
    assert.equal((await held[0]).get("h0"), "H0");
    assert.equal((await queued[7]).get("q7"), "Q7");
  });
});

postgresTest("static-postgresql batched lookups", async (pg, t) => {
  const passwordFile = await pg.createRole("dhcp", "dhcp secret");
  await pg.createDatabase("dhcp");
  await pg.sql("ALTER DATABASE dhcp OWNER TO dhcp");
  const url = pg.url("dhcp", "dhcp");
  await fillTable(url, passwordFile, CSV);

  await t.step("the text[] literal carries any id unchanged", async () => {
    const pool = acquirePool(parseConnectionUrl(url), { passwordFile });
    try {
      const ids = ['a"b', "c\\d", "e,f", "{g}", " h ", "NULL", "", "ü"];
      const rows = await pool.query<{ id: string }>(
        "SELECT unnest($1::text[]) AS id",
        [textArrayLiteral(ids)],
      );
      assert.deepEqual(rows.map((r) => r.id), ids);
    } finally {
      await pool.release();
    }
  });

  await t.step("many concurrent requests with mixed id kinds get exactly their rows", async () => {
    const dir = Deno.makeTempDirSync();
    Deno.writeTextFileSync(`${dir}/a.csv`, CSV);
    const lifetimes = {
      addressPreferredLifetime: LIFETIMES.ap,
      addressValidLifetime: LIFETIMES.av,
      prefixPreferredLifetime: LIFETIMES.pp,
      prefixValidLifetime: LIFETIMES.pv,
    };
    const csv = new StaticAssignmentHandler(lifetimes, () => openCsvSource(`${dir}/a.csv`));
    const postgres = handlersFromConfig(
      section(url, passwordFile),
    )[0] as AsyncStaticAssignmentHandler;
    await csv.workerInit();
    await postgres.workerInit();
    try {
      const messages = Array.from({ length: CLIENTS }, (_, i) => clientOf(i).message);
      // All lookups start in this turn.
      const answers = await Promise.all(messages.map((m) => answer([postgres], m)));
      const source = postgres.source as PostgresAssignmentSource;
      // 600 lookups in one turn: ceil(600 / 256) queries, not 600.
      assert.deepEqual(source.batches, { queries: 3, lookups: CLIENTS });
      let answered = 0;
      const winners = new Set<number>();
      for (let i = 0; i < CLIENTS; i++) {
        const expected = await answer([csv], messages[i]);
        assert.equal(iasOf(answers[i]), iasOf(expected), `client ${i}`);
        const address = addressOf(answers[i]);
        if (address) {
          answered++;
          // Which id kind answered: the row's address is unique to its id.
          const kind = clientOf(i).ids.findIndex((id) =>
            CSV.includes(`\n${id},${address},`) || CSV.includes(`\n${id},${address}\n`)
          );
          winners.add(kind);
        }
      }
      // Not a comparison of two no-ops: most clients have a row, won by every id kind.
      assert.ok(answered > CLIENTS / 2, `${answered} answered`);
      assert.deepEqual([...winners].sort(), [0, 1, 2, 3, 4]);
    } finally {
      await csv.close();
      await postgres.close();
      Deno.removeSync(dir, { recursive: true });
    }
  });

  await t.step(
    "the database fails under a batch: every request in it dropped and counted; cached rows " +
      "still answer",
    async () => {
      const p = pipelineFromConfig(section(url, passwordFile, "    outage-cache-time 1h\n"));
      await p.workerInit();
      const stats = new StatisticsStore();
      const holder = acquirePool(parseConnectionUrl(pg.url("postgres", "dhcp")), { size: 1 });
      let unlock = () => {};
      try {
        // Client 0's row is read once, so the outage cache knows it.
        const cachedClient = [...Array(CLIENTS).keys()].find((i) =>
          CSV.includes(`\n${clientOf(i).ids[0]},`)
        )!;
        const first = await p.handle(packet(clientOf(cachedClient).message), stats);
        const cachedAddress = addressOf(innerReply(first));
        assert.ok(cachedAddress);
        // Hold the table so the batch's query waits in the database.
        const locked = Promise.withResolvers<void>();
        const held = holder.transaction(async (tx) => {
          await tx.query("LOCK TABLE assignments IN ACCESS EXCLUSIVE MODE");
          locked.resolve();
          await new Promise<void>((r) => unlock = r);
        });
        await locked.promise;
        const others = Array.from({ length: 40 }, (_, k) => 100 + k);
        const pending = [cachedClient, ...others].map((i) =>
          p.handle(packet(clientOf(i).message), stats)
        );
        await waitForLockWaiters(pg, 1);
        // All 41 lookups went in one query: one session waits, not one per request.
        assert.equal(await lockWaiters(pg), 1);
        // The database goes away mid-batch: the sessions of the server's role are ended.
        await pg.sql(
          "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'dhcp'",
        );
        const results = await Promise.all(pending);
        unlock();
        await held;
        // The cached client is answered with the row read before; every other one is dropped.
        assert.equal(results[0].replies.length, 1);
        assert.equal(addressOf(innerReply(results[0])), cachedAddress);
        for (const r of results.slice(1)) {
          assert.equal(r.outcome, "lookup_failure");
          assert.equal(r.replies.length, 0);
        }
        const counters = stats.sets.get("global")!;
        assert.equal(counters[scalarIndex("lookup_failures")], others.length);
        assert.equal(counters[scalarIndex("handling_errors")], 0);
        // Answers resume once the pool reconnects.
        let again: ClientServerMessage | undefined;
        for (let i = 0; i < 100 && !again; i++) {
          const r = await p.handle(packet(clientOf(cachedClient).message), stats);
          if (r.replies.length) again = innerReply(r);
          else await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(addressOf(again!), cachedAddress);
      } finally {
        unlock();
        await holder.release();
        await p.close();
      }
    },
  );
});

/** Sessions of role dhcp waiting for a lock now. */
async function lockWaiters(pg: PostgresCluster): Promise<number> {
  return Number(
    await pg.sql(
      "SELECT count(*) FROM pg_stat_activity WHERE usename = 'dhcp' AND wait_event_type = 'Lock'",
    ),
  );
}

/** The client's message inside the reply a relayed request got. */
function innerReply(result: HandleResult): ClientServerMessage {
  const sent = parseMessage(result.replies[0].data);
  return (sent instanceof RelayReplyMessage
    ? sent.getOption(RelayMessageOption)!.message
    : sent) as ClientServerMessage;
}

/** Wait until `n` sessions of role dhcp wait for a lock. */
async function waitForLockWaiters(pg: PostgresCluster, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await lockWaiters(pg) >= n) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the batch's query never waited for the lock");
}
