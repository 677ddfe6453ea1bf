/**
 * `<static-postgresql>` against a real PostgreSQL cluster. The handler is driven as the pipeline
 * drives a handler with a lookup: `lookup()` first, then `handle()` on the same bundle; the
 * answers are compared with those of `<static-csv>` for the same rows.
 */

import assert from "node:assert/strict";
import { loadConfigText } from "../../../src/config/mod.ts";
import { openCsvSource, StaticAssignmentHandler } from "../../../src/handlers/static/handler.ts";
import {
  type AsyncStaticAssignmentHandler,
  openPostgresSource,
  type PostgresAssignmentSource,
} from "../../../src/handlers/static/postgresql/mod.ts";
import { bundleFromPacket, scalarIndex, StatisticsStore } from "../../../src/pipeline/mod.ts";
import {
  type ClientServerMessage,
  InformationRequestMessage,
  InterfaceIdOption,
  LinkLayerIdOption,
  type Message,
  type Option,
  parseMessage,
  RemoteIdOption,
  SubscriberIdOption,
} from "../../../src/protocol/mod.ts";
import { parseConnectionUrl } from "../../../src/storage/postgresql/mod.ts";
import { handlersFromConfig, postgresTest } from "../../helpers/postgres.ts";
import { addressOf, answer, fillTable, iasOf, staticPostgresqlConfig } from "./lookup_helpers.ts";
import {
  CLIENT_DUID,
  clientId,
  iana,
  iapd,
  packet,
  pipelineFromConfig,
  relayed,
} from "../../pipeline/helpers.ts";
import {
  confirm,
  decline,
  LIFETIMES,
  OTHER_CLIENT,
  rebind,
  release,
  renew,
  request,
  SAMPLE_CSV,
  solicit,
} from "./fixtures.ts";

const text = (s: string) => new TextEncoder().encode(s);
const bytes = (...b: number[]) => new Uint8Array(b);
const HANDLER_LIFETIMES = {
  addressPreferredLifetime: LIFETIMES.ap,
  addressValidLifetime: LIFETIMES.av,
  prefixPreferredLifetime: LIFETIMES.pp,
  prefixValidLifetime: LIFETIMES.pv,
};

/** The requests both backends must answer alike. */
function requests(): [string, Message][] {
  const relay = (
    options: Option[],
    message: ClientServerMessage = solicit(OTHER_CLIENT, iana(1), iapd(2)),
  ) => relayed(message, "2001:db8:ffff::1", "fe80::1", options);
  const all = [
    new InterfaceIdOption(text("eth7")),
    new RemoteIdOption(9, bytes(1, 2)),
    new SubscriberIdOption(bytes(0xab, 0xcd)),
    new LinkLayerIdOption(1, text("AB")),
  ];
  return [
    ["solicit by duid", solicit(CLIENT_DUID, iana(1), iapd(2))],
    ["request by duid", request(CLIENT_DUID, iana(1), iapd(2))],
    [
      "renew moved address",
      renew(CLIENT_DUID, iana(1, "2001:db8:1::99"), iapd(2, "2001:db8:100::", 56)),
    ],
    ["rebind", rebind(CLIENT_DUID, iana(1, "2001:db8:1::10"))],
    ["confirm", confirm(CLIENT_DUID, iana(1, "2001:db8:1::10"))],
    ["release", release(CLIENT_DUID, iana(1, "2001:db8:1::10"))],
    ["decline", decline(CLIENT_DUID, iana(1, "2001:db8:1::10"))],
    ["interface-id str", relay([new InterfaceIdOption(text("eth7"))])],
    ["interface-id hex", relay([new InterfaceIdOption(text("fa22"))])],
    ["remote-id", relay([new RemoteIdOption(9, bytes(1, 2))])],
    ["remote-id str", relay([new RemoteIdOption(40208, text("SomeRemote"))])],
    ["remote-id other enterprise", relay([new RemoteIdOption(40209, text("SomeRemote"))])],
    ["subscriber-id", relay([new SubscriberIdOption(bytes(0xab, 0xcd))])],
    ["subscriber-id str", relay([new SubscriberIdOption(text("sub-1"))])],
    ["linklayer-id", relay([new LinkLayerIdOption(1, bytes(0, 0x11, 0x22, 0x33, 0x44, 0x66))])],
    ["linklayer-id str", relay([new LinkLayerIdOption(1, text("AB"))])],
    ["prefix only", relay([new InterfaceIdOption(text("prefix-only"))])],
    ["order: duid first", relay(all, solicit(CLIENT_DUID, iana(1), iapd(2)))],
    ["order: interface-id", relay([...all].reverse())],
    ["order: remote-id", relay(all.slice(1))],
    ["order: subscriber-id", relay(all.slice(2))],
    ["order: linklayer-id", relay(all.slice(3))],
    ["unknown client", relay([])],
  ];
}

function handlerFromConfig(config: string): AsyncStaticAssignmentHandler {
  return handlersFromConfig(config)[0] as AsyncStaticAssignmentHandler;
}

postgresTest("static-postgresql", async (pg, t) => {
  const passwordFile = await pg.createRole("dhcp", "dhcp secret");
  await pg.createDatabase("dhcp");
  await pg.sql("ALTER DATABASE dhcp OWNER TO dhcp");
  const url = pg.url("dhcp", "dhcp");
  await fillTable(url, passwordFile, SAMPLE_CSV);
  const config = (extra = "") => staticPostgresqlConfig(url, passwordFile, extra);

  await t.step("answers every request like static-csv with the same rows", async () => {
    const dir = Deno.makeTempDirSync();
    Deno.writeTextFileSync(`${dir}/a.csv`, SAMPLE_CSV);
    const csv = new StaticAssignmentHandler(HANDLER_LIFETIMES, () => openCsvSource(`${dir}/a.csv`));
    const postgres = handlerFromConfig(config());
    await csv.workerInit();
    await postgres.workerInit();
    try {
      for (const [name, message] of requests()) {
        const expected = iasOf(await answer([csv], message));
        assert.equal(iasOf(await answer([postgres], message)), expected, name);
      }
      // And some answers are not empty at all (the comparison alone would pass for two no-ops).
      assert.equal(
        addressOf(await answer([postgres], solicit(CLIENT_DUID, iana(1)))),
        "2001:db8:1::10",
      );
      assert.equal(postgres.source!.count!(), 10);
      assert.match(postgres.source!.path!, /^postgresql:\/\/dhcp@\/dhcp\?host=.*#assignments$/);
    } finally {
      await csv.close();
      await postgres.close();
      Deno.removeSync(dir, { recursive: true });
    }
  });

  await t.step("a row changed with psql is used by the next request", async () => {
    const handler = handlerFromConfig(config());
    await handler.workerInit();
    try {
      const id = `duid:${CLIENT_DUID.toHex()}`;
      await pg.sql(`UPDATE assignments SET address = '2001:db8:1::aa' WHERE id = '${id}'`, "dhcp");
      assert.equal(
        addressOf(await answer([handler], solicit(CLIENT_DUID, iana(1)))),
        "2001:db8:1::aa",
      );
      await pg.sql(`UPDATE assignments SET address = '2001:db8:1::10' WHERE id = '${id}'`, "dhcp");
      assert.equal(
        addressOf(await answer([handler], solicit(CLIENT_DUID, iana(1)))),
        "2001:db8:1::10",
      );
    } finally {
      await handler.close();
    }
  });

  await t.step("requests that need no row are not looked up", async () => {
    const handler = handlerFromConfig(config());
    await handler.workerInit();
    try {
      const info = bundleFromPacket(packet(new InformationRequestMessage(7, [clientId()])), false);
      assert.equal(handler.lookup(info), undefined);
      const noIa = bundleFromPacket(packet(solicit(CLIENT_DUID)), false);
      assert.equal(handler.lookup(noIa), undefined);
      const withIa = bundleFromPacket(packet(solicit(CLIENT_DUID, iapd(1))), false);
      const pending = handler.lookup(withIa);
      assert.ok(pending instanceof Promise);
      await pending;
    } finally {
      await handler.close();
    }
  });

  await t.step(
    "database away: no answer, except rows read shortly before; answers resume",
    async () => {
      const cached = handlerFromConfig(config("    outage-cache-time 1h\n"));
      const uncached = handlerFromConfig(config("    outage-cache-time 0\n"));
      await cached.workerInit();
      await uncached.workerInit();
      try {
        assert.equal(
          addressOf(await answer([cached], solicit(CLIENT_DUID, iana(1)))),
          "2001:db8:1::10",
        );
        assert.equal(
          addressOf(await answer([uncached], solicit(CLIENT_DUID, iana(1)))),
          "2001:db8:1::10",
        );
        await pg.stopServer();
        // Never an empty answer (NoAddrsAvail) for a client that has a row: the lookup fails.
        await assert.rejects(answer([uncached], solicit(CLIENT_DUID, iana(1))));
        await assert.rejects(answer([cached], solicit(OTHER_CLIENT, iana(1))));
        // The row read before still answers the same request.
        assert.equal(
          addressOf(await answer([cached], solicit(CLIENT_DUID, iana(1)))),
          "2001:db8:1::10",
        );
        assert.equal((cached.source as PostgresAssignmentSource).cacheAnswers, 1);
        await pg.startServer();
        let address: string | undefined;
        for (let i = 0; i < 100 && address === undefined; i++) {
          try {
            address = addressOf(await answer([uncached], solicit(CLIENT_DUID, iana(1))));
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        assert.equal(address, "2001:db8:1::10", "answers resume without a restart");
      } finally {
        if (!pg.running) await pg.startServer();
        await cached.close();
        await uncached.close();
      }
    },
  );

  await t.step(
    "through the pipeline: answered after the lookup; dropped and counted when it fails",
    async () => {
      const p = pipelineFromConfig(config("    outage-cache-time 0\n"));
      await p.workerInit();
      const stats = new StatisticsStore();
      const ask = async () => {
        const result = await p.handle(packet(solicit(CLIENT_DUID, iana(1))), stats);
        const reply = result.replies.length ? parseMessage(result.replies[0].data) : undefined;
        return { result, reply: reply as ClientServerMessage | undefined };
      };
      try {
        const pending = p.handle(packet(solicit(CLIENT_DUID, iana(1))), stats);
        assert.ok(pending instanceof Promise, "a request that needs a row waits for its lookup");
        await pending;
        const { reply } = await ask();
        assert.equal(addressOf(reply!), "2001:db8:1::10");
        await pg.stopServer();
        const down = await ask();
        assert.equal(down.result.outcome, "lookup_failure");
        assert.equal(down.result.replies.length, 0, "no answer, never an empty one");
        const counters = stats.sets.get("global")!;
        assert.equal(counters[scalarIndex("lookup_failures")], 1);
        assert.equal(counters[scalarIndex("handling_errors")], 0);
        await pg.startServer();
        let again: ClientServerMessage | undefined;
        for (let i = 0; i < 100 && !again; i++) {
          again = (await ask()).reply;
          if (!again) await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(addressOf(again!), "2001:db8:1::10");
        // Requests that need no row stay on the synchronous path.
        const info = p.handle(packet(new InformationRequestMessage(9, [clientId()])), stats);
        assert.ok(!(info instanceof Promise));
      } finally {
        if (!pg.running) await pg.startServer();
        await p.close();
      }
    },
  );

  await t.step(
    "a malformed row fails the lookup with a message naming the source and row",
    async () => {
      const handler = handlerFromConfig(config());
      await handler.workerInit();
      try {
        await pg.sql(
          "INSERT INTO assignments VALUES ('subscriber-id:0bad', '2001:db8::zz', NULL)",
          "dhcp",
        );
        const message = relayed(solicit(OTHER_CLIENT, iana(1)), "2001:db8:ffff::1", "fe80::1", [
          new SubscriberIdOption(bytes(0x0b, 0xad)),
        ]);
        await assert.rejects(answer([handler], message), (e: Error) => {
          assert.match(
            e.message,
            /^PostgreSQL table assignments in postgresql:\/\/dhcp@\/dhcp\?host=/,
          );
          assert.match(
            e.message,
            /row subscriber-id:0bad is malformed: address "2001:db8::zz" is not an IPv6 address/,
          );
          return true;
        });
      } finally {
        await pg.sql("DELETE FROM assignments WHERE id = 'subscriber-id:0bad'", "dhcp");
        await handler.close();
      }
    },
  );

  await t.step("bad input at start-up: clear messages naming the source", async () => {
    const wrong = `${pg.dir}/wrong.password`;
    Deno.writeTextFileSync(wrong, "not it\n");
    await pg.sql("CREATE TABLE narrow (id TEXT PRIMARY KEY, address TEXT)", "dhcp");
    await pg.sql("GRANT SELECT ON narrow TO dhcp", "dhcp");
    await pg.sql("CREATE TABLE secret (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)", "dhcp");
    const cases: [string, RegExp][] = [
      [
        config().replace("</static-postgresql>", "    table missing\n</static-postgresql>"),
        /cannot read table missing: relation "missing" does not exist \(SQLSTATE 42P01\) \(create it with dhcpkit build-postgresql\)/,
      ],
      [config().replace(passwordFile, wrong), /password authentication failed for user "dhcp"/],
      [
        config().replace(url, `postgresql://dhcp@/dhcp?host=${pg.dir}/gone`),
        /cannot connect: no server listening on/,
      ],
      [
        config().replace("</static-postgresql>", "    table secret\n</static-postgresql>"),
        /cannot read table secret: permission denied for table secret .*\(GRANT SELECT ON secret TO dhcp\)/,
      ],
      [
        config().replace("</static-postgresql>", "    table narrow\n</static-postgresql>"),
        /column "prefix" does not exist .*\(it needs the columns id, address and prefix\)/,
      ],
    ];
    for (const [text, expected] of cases) {
      const handler = handlerFromConfig(text);
      await assert.rejects(handler.workerInit(), (e: Error) => {
        assert.match(e.message, /^postgresql:\/\/dhcp@\/(dhcp)\?host=/);
        assert.match(e.message, expected);
        assert.ok(!e.message.includes("dhcp secret"));
        return true;
      });
      await handler.close();
    }
  });

  await t.step("openPostgresSource gives the pool back when the table check fails", async () => {
    const values = {
      url: parseConnectionUrl(url),
      passwordFile,
      poolSize: 1,
      table: "missing",
      outageCacheTime: 0,
      preloadRows: 0,
      addressPreferredLifetime: 1,
      addressValidLifetime: 1,
      prefixPreferredLifetime: 1,
      prefixValidLifetime: 1,
    };
    await assert.rejects(openPostgresSource(values));
    const before = Number(
      await pg.sql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'dhcp'"),
    );
    assert.equal(before, 0);
  });
});

Deno.test("static-postgresql configuration: URL and table mistakes are FILE:LINE errors", () => {
  const cases: [string, RegExp][] = [
    [
      "<static-postgresql postgresql://u:pw@/db>\n</static-postgresql>",
      /test\.conf:1: .*contains a password/,
    ],
    [
      "<static-postgresql postgresql://u@/db>\n  table drop;table\n</static-postgresql>",
      /test\.conf:2: .*is not a table name/,
    ],
    [
      "<static-postgresql postgresql://u@/db>\n  pool-size 0\n</static-postgresql>",
      /test\.conf:2: /,
    ],
  ];
  for (const [text, expected] of cases) {
    const result = loadConfigText(text, "test.conf", { hostChecks: false });
    const messages = result.errors.map((e) => `${e.file}:${e.line}: ${e.message}`).join("\n");
    assert.match(messages, expected);
    assert.ok(!messages.includes(":pw@"), messages);
  }
  const ok = loadConfigText(
    "<static-postgresql postgresql://u@db.example.net:5433/dhcp>\n  table dhcp.assignments\n</static-postgresql>",
    "test.conf",
    { hostChecks: false },
  );
  assert.deepEqual(ok.errors, []);
});
