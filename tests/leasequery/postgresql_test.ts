/**
 * `<lq-postgresql>` against a real PostgreSQL cluster: two servers (two pipelines with pools of
 * their own) write into one database and each answers for both, through the pipeline (the
 * leasequeries wait for the handler's lookup).
 */

import assert from "node:assert/strict";
import type { AsyncLeasequeryHandler } from "../../src/handlers/leasequery/handler.ts";
import type { LeasequeryPostgresStore } from "../../src/handlers/leasequery/postgresql/store.ts";
import { PAGE_SIZE } from "../../src/handlers/leasequery/postgresql/store.ts";
import { type MessageHandler, StatisticsStore } from "../../src/pipeline/mod.ts";
import {
  ClientDataOption,
  ClientIdOption,
  type ClientServerMessage,
  EnterpriseDuid,
  IAAddressOption,
  IAPrefixOption,
  LeasequeryDoneMessage,
  LinkLayerDuid,
  OptionRequestOption,
  parseMessage,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
  QUERY_BY_LINK_ADDRESS,
  QUERY_BY_RELAY_ID,
  QUERY_BY_REMOTE_ID,
  RelayIdOption,
  RemoteIdOption,
  RequestMessage,
  StatusCode,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";
import { handlersFromConfig, type PostgresCluster, postgresTest } from "../helpers/postgres.ts";
import { elapsed, iana, iapd, packet, relayed, run, serverId } from "../pipeline/helpers.ts";
import { AssignHandler, type Assignment, leasequery, lqPipeline } from "./lq_helpers.ts";

const LINK = "2001:db8:1::1";
const REQUESTOR = "2001:db8:ffff::10";
const RELAY_DUID = new EnterpriseDuid(9, new Uint8Array([1, 2, 3]));
const duid = (i: number) => new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, i >> 8, i & 255]));

/** One dhcpkit server: a pipeline assigning from `table` and recording in `<lq-postgresql>`. */
interface Server {
  pipeline: MessageHandler;
  lq: AsyncLeasequeryHandler;
  store: LeasequeryPostgresStore;
}

function storeSection(pg: PostgresCluster, passwordFile: string, extra = ""): string {
  return `<leasequery>
    allow-from 2001:db8:ffff::/48
    <lq-postgresql ${pg.url("lq", "leases")}>
        password-file ${passwordFile}
${extra}    </lq-postgresql>
</leasequery>`;
}

function lqHandlerFrom(config: string): AsyncLeasequeryHandler {
  return handlersFromConfig(config)[0] as AsyncLeasequeryHandler;
}

async function server(config: string, table: Record<string, Assignment>): Promise<Server> {
  const lq = lqHandlerFrom(config);
  const pipeline = lqPipeline([new AssignHandler(new Map(Object.entries(table))), lq]);
  await pipeline.workerInit();
  return { pipeline, lq, store: lq.store as LeasequeryPostgresStore };
}

/** A relayed Request for an address and a prefix with a Remote-ID and a Relay-ID. */
function assign(s: Server, client: LinkLayerDuid, link = LINK) {
  const request = new RequestMessage(0x1000, [
    new ClientIdOption(client),
    serverId(),
    elapsed(0),
    iana(1),
    iapd(2),
  ]);
  const message = relayed(request, link, "fe80::1", [
    new RemoteIdOption(9, new TextEncoder().encode("abc")),
    new RelayIdOption(RELAY_DUID),
  ]);
  const r = run(s.pipeline, message, {
    source: "2001:db8:1::2",
    sourcePort: 547,
    multicast: false,
  });
  assert.equal(r.result.outcome, "reply");
}

/** Everything a leasequery gets back: the reply, then the streamed messages over TCP. */
async function ask(
  s: Server,
  message: ClientServerMessage,
  tcp = false,
): Promise<ClientServerMessage[]> {
  const result = await s.pipeline.handle(
    packet(message, { source: REQUESTOR, multicast: false, tcp }),
    new StatisticsStore(),
  );
  assert.ok(result.replies.length > 0, `no answer: ${result.outcome}`);
  const out = result.replies.map((r) => parseMessage(r.data) as ClientServerMessage);
  const more = result.bundle?.moreResponses as AsyncIterable<ClientServerMessage> | undefined;
  if (more) { for await (const m of more) out.push(m); }
  return out;
}

const clientsIn = (messages: ClientServerMessage[]) =>
  messages.flatMap((m) => m.getOptions(ClientDataOption)).map((d) =>
    d.options.find((o) => o instanceof ClientIdOption)!.duid.toHex()
  );
const statusOf = (m: ClientServerMessage) => m.getOption(StatusCodeOption)?.statusCode;

/** Wait until `check` holds (the writer works on its own timer), at most 10 s. */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`never: ${what}`);
}

postgresTest("lq-postgresql", async (pg, t) => {
  const passwordFile = await pg.createRole("lq", "lease writer");
  await pg.createDatabase("leases");
  await pg.sql("ALTER DATABASE leases OWNER TO lq");
  const config = storeSection(pg, passwordFile);
  const A = duid(0xa1), B = duid(0xb2);
  const table = {
    [A.toHex()]: { address: "2001:db8:1::a1", prefix: "2001:db8:a100::", prefixLength: 56 },
    [B.toHex()]: { address: "2001:db8:1::b2", prefix: "2001:db8:b200::", prefixLength: 56 },
  };
  const one = await server(config, table);
  const two = await server(config, table);
  const rows = async () =>
    Number(await pg.sql("SELECT count(*) FROM leasequery_addresses", "leases"));
  try {
    await t.step("the schema is created once and recorded as version 1", async () => {
      assert.equal(
        await pg.sql("SELECT version FROM dhcpkit_schema WHERE component = 'leasequery'", "leases"),
        "1",
      );
    });

    await t.step(
      "writes are queued off the request path and written by the writer on its own",
      async () => {
        assign(one, A);
        // Nothing written while the request was handled: the record waits in the queue.
        assert.equal(one.store.writer!.queued, 1);
        await eventually(async () => (await rows()) === 1, "A's lease is written");
        assert.equal(one.store.writer!.queued, 0);
        assign(two, B);
        await eventually(async () => (await rows()) === 2, "B's lease is written");
      },
    );

    await t.step("either server answers for the clients of both, every query type", async () => {
      for (const [s, name] of [[one, "one"], [two, "two"]] as const) {
        const byClient = await ask(s, leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(B)]));
        assert.deepEqual(clientsIn(byClient), [B.toHex()], name);
        const data = byClient[0].getOption(ClientDataOption)!;
        assert.equal(
          data.options.find((o) => o instanceof IAAddressOption)?.address,
          "2001:db8:1::b2",
        );
        assert.equal(
          (data.options.find((o) => o instanceof IAPrefixOption) as IAPrefixOption).prefix,
          "2001:db8:b200::",
        );
        const byAddress = await ask(
          s,
          leasequery(QUERY_BY_ADDRESS, "::", [new IAAddressOption("2001:db8:a100::77", 0, 0)]),
        );
        assert.deepEqual(clientsIn(byAddress), [A.toHex()], `${name}: address inside A's prefix`);
        const byLink = await ask(s, leasequery(QUERY_BY_LINK_ADDRESS, LINK), true);
        assert.deepEqual(clientsIn(byLink).sort(), [A.toHex(), B.toHex()].sort());
        assert.equal(statusOf(byLink.at(-1)!), StatusCode.Success);
        assert.ok(byLink.at(-1) instanceof LeasequeryDoneMessage);
        const byRemote = await ask(
          s,
          leasequery(QUERY_BY_REMOTE_ID, "::", [
            new RemoteIdOption(9, new TextEncoder().encode("abc")),
          ]),
          true,
        );
        assert.equal(clientsIn(byRemote).length, 2);
        const byRelay = await ask(
          s,
          leasequery(QUERY_BY_RELAY_ID, "::", [new RelayIdOption(RELAY_DUID)]),
          true,
        );
        assert.equal(clientsIn(byRelay).length, 2);
        const unknown = await ask(
          s,
          leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(duid(9))]),
        );
        assert.deepEqual(clientsIn(unknown), []);
        const malformed = await ask(s, leasequery(QUERY_BY_CLIENTID, "::", []));
        assert.equal(statusOf(malformed[0]), StatusCode.MalformedQuery);
      }
    });

    await t.step(
      "a bulk answer larger than a page streams every client exactly once",
      async () => {
        const many: Record<string, Assignment> = {};
        for (let i = 1; i <= PAGE_SIZE * 2 + 17; i++) {
          many[duid(0x1000 + i).toHex()] = { address: `2001:db8:2::${i.toString(16)}` };
        }
        const s = await server(config, many);
        try {
          for (let i = 1; i <= PAGE_SIZE * 2 + 17; i++) {
            assign(s, duid(0x1000 + i), "2001:db8:2::1");
          }
          await eventually(
            () => s.store.writer!.queued === 0 && s.store.writer!.written === PAGE_SIZE * 2 + 17,
            "all written",
          );
          const answer = await ask(
            s,
            leasequery(QUERY_BY_LINK_ADDRESS, "2001:db8:2::1", [new OptionRequestOption([])]),
            true,
          );
          const found = clientsIn(answer);
          assert.equal(found.length, PAGE_SIZE * 2 + 17);
          assert.equal(new Set(found).size, found.length);
          assert.ok(answer.at(-1) instanceof LeasequeryDoneMessage);
        } finally {
          await s.pipeline.close();
        }
      },
    );

    await t.step(
      "database away: queries get UnspecFail / QueryTerminated, records wait, then are written",
      async () => {
        const small = await server(storeSection(pg, passwordFile, "        queue-size 3\n"), {
          ...table,
          [duid(0xc1).toHex()]: { address: "2001:db8:1::c1" },
          [duid(0xc2).toHex()]: { address: "2001:db8:1::c2" },
          [duid(0xc3).toHex()]: { address: "2001:db8:1::c3" },
          [duid(0xc4).toHex()]: { address: "2001:db8:1::c4" },
          [duid(0xc5).toHex()]: { address: "2001:db8:1::c5" },
        });
        try {
          await pg.stopServer();
          const udp = await ask(
            small,
            leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(A)]),
          );
          assert.equal(statusOf(udp[0]), StatusCode.UnspecFail);
          const tcp = await ask(small, leasequery(QUERY_BY_LINK_ADDRESS, LINK), true);
          assert.equal(statusOf(tcp[0]), StatusCode.QueryTerminated);
          for (let i = 1; i <= 5; i++) {
            assign(small, duid(0xc0 + i));
          }
          const writer = small.store.writer!;
          assert.equal(writer.dropped, 2, "what does not fit is counted");
          await eventually(() => writer.failedBatches > 0, "a write was tried and failed");
          assert.equal(writer.queued, 3, "the records that fit are kept");
          await pg.startServer();
          await eventually(
            () => writer.written === 3 && writer.queued === 0,
            "the queue is written after the restart",
          );
          const found = await ask(
            small,
            leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(duid(0xc1))]),
          );
          assert.deepEqual(clientsIn(found), [duid(0xc1).toHex()]);
          const lost = await ask(
            small,
            leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(duid(0xc5))]),
          );
          assert.deepEqual(clientsIn(lost), []);
        } finally {
          if (!pg.running) await pg.startServer();
          await small.pipeline.close();
        }
      },
    );

    await t.step(
      "start-up: a wrong password or a newer schema stops the server, naming the database",
      async () => {
        const wrong = `${pg.dir}/wrong.password`;
        Deno.writeTextFileSync(wrong, "nope\n");
        const bad = lqHandlerFrom(storeSection(pg, wrong));
        await assert.rejects(
          bad.workerInit(),
          /^DatabaseOpenError: postgresql:\/\/lq@\/leases\?host=.*password authentication failed/,
        );
        await bad.close();
        await pg.sql(
          "UPDATE dhcpkit_schema SET version = 2 WHERE component = 'leasequery'",
          "leases",
        );
        const newer = lqHandlerFrom(config);
        await assert.rejects(
          newer.workerInit(),
          /leasequery schema is at version 2, newer than the 1 this dhcpkit knows/,
        );
        await newer.close();
        await pg.sql(
          "UPDATE dhcpkit_schema SET version = 1 WHERE component = 'leasequery'",
          "leases",
        );
      },
    );
  } finally {
    await one.pipeline.close();
    await two.pipeline.close();
  }
});
