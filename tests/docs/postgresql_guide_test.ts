/**
 * The operator guide's "Several servers on one PostgreSQL database", done for real on a cluster of
 * the test's own: the guide's SQL creates the roles, database and tables (the same tables the
 * servers' migrations create); the guide's build-postgresql command loads the example assignments
 * as the owner; two servers built from the guide's configuration, logged in as the server role
 * with only the granted rights, answer from the table and find each other's leases; the read-only
 * role reads and cannot write.
 */

import assert from "node:assert/strict";
import { loadConfigText } from "../../src/config/mod.ts";
import { buildHandlerTree } from "../../src/handlers/mod.ts";
import type { AsyncLeasequeryHandler } from "../../src/handlers/leasequery/handler.ts";
import type { LeasequeryPostgresStore } from "../../src/handlers/leasequery/postgresql/store.ts";
import { LEASEQUERY_SCHEMA } from "../../src/handlers/leasequery/postgresql/schema.ts";
import { assignmentsSchema } from "../../src/handlers/static/postgresql/schema.ts";
import type { AsyncStaticAssignmentHandler } from "../../src/handlers/static/postgresql/mod.ts";
import { bundleFromPacket } from "../../src/pipeline/mod.ts";
import {
  AdvertiseMessage,
  type IAAddressOption,
  IANAOption,
  RemoteIdOption,
} from "../../src/protocol/mod.ts";
import { migrate, parseConnectionUrl, PostgresPool } from "../../src/storage/postgresql/mod.ts";
import { postgresTest } from "../helpers/postgres.ts";
import { CLIENT_DUID, iana, packet, relayed, SERVER_DUID } from "../pipeline/helpers.ts";
import { solicit } from "../handlers/static/fixtures.ts";
import { runCli } from "../cli/helpers.ts";

const GUIDE = Deno.readTextFileSync(new URL("../../docs/operator-guide.md", import.meta.url));
const SQL = new URL("../../docs/examples/operator/postgresql.sql", import.meta.url).pathname;
const CONF = Deno.readTextFileSync(
  new URL("../../docs/examples/operator/postgresql.conf", import.meta.url),
);
const CSV = new URL("../../docs/examples/operator/assignments.csv", import.meta.url).pathname;

/** The columns, keys and indexes of the public tables, for comparing two databases. */
const STRUCTURE = "SELECT string_agg(line, E'\\n' ORDER BY line) FROM (" +
  "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable AS line " +
  "FROM information_schema.columns WHERE table_schema = 'public' UNION ALL " +
  "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public') s";

postgresTest("operator guide: several servers on one PostgreSQL database", async (pg, t) => {
  const secrets = { admin: "admin-secret", server: "server-secret", reader: "reader-secret" };
  const file = (name: string, text: string) => {
    Deno.writeTextFileSync(`${pg.dir}/${name}`, text + "\n");
    return `${pg.dir}/${name}`;
  };

  await t.step("the guide's SQL runs as a superuser", async () => {
    const r = await pg.psql(Deno.readTextFileSync(SQL));
    assert.equal(r.code, 0, r.stderr);
  });

  await t.step("it creates the same tables as the servers' own migrations", async () => {
    await pg.createDatabase("migrated");
    const pool = new PostgresPool(parseConnectionUrl(pg.url("postgres", "migrated")));
    try {
      await migrate(pool, assignmentsSchema("assignments"));
      await migrate(pool, LEASEQUERY_SCHEMA);
    } finally {
      await pool.close();
    }
    assert.equal(await pg.sql(STRUCTURE, "dhcp"), await pg.sql(STRUCTURE, "migrated"));
  });

  await t.step("the guide's build-postgresql command loads the example as the owner", async () => {
    const line = /^ {4}(dhcpkit build-postgresql .*)$/m.exec(GUIDE)![1].split(" ");
    const args = line.slice(1).map((a) =>
      a === "/etc/dhcpkit/postgresql-admin.password"
        ? file("admin.password", secrets.admin)
        : a === "assignments.csv"
        ? CSV
        : a.replace("@db.example.net/dhcp", `@/dhcp?host=${pg.dir}`)
    );
    const r = await runCli(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await pg.sql("SELECT count(*) FROM assignments", "dhcp"), "3");
  });

  const serverConfig = CONF.replaceAll("@db.example.net/dhcp", `@/dhcp?host=${pg.dir}`)
    .replaceAll("/etc/dhcpkit/postgresql.password", file("server.password", secrets.server));

  await t.step(
    "two servers with only the server role's rights answer from the table; their lease stores open",
    async () => {
      const build = () => {
        const result = loadConfigText(serverConfig, `${pg.dir}/postgresql.conf`, {
          hostChecks: false,
        });
        assert.ok(result.config, result.errors.map((e) => e.message).join("\n"));
        return buildHandlerTree(result.config.handlers, {
          configDir: pg.dir,
          serverDuid: SERVER_DUID,
        })
          .handlers as [AsyncStaticAssignmentHandler, AsyncLeasequeryHandler];
      };
      const a = build(), b = build();
      for (const h of [...a, ...b]) await h.workerInit();
      try {
        // The DUID row of the example file (duid:000300010200000000aa) and its Remote-ID row.
        const remote = relayed(solicit(CLIENT_DUID, iana(1)), "2001:db8:100::1", "fe80::1", [
          new RemoteIdOption(9, new TextEncoder().encode("modem-0042")),
        ]);
        for (const [handler] of [a, b]) {
          const bundle = bundleFromPacket(packet(remote), false);
          await handler.lookup(bundle);
          bundle.responses = [new AdvertiseMessage(bundle.request.transactionId, [])];
          bundle.createOutgoingRelayMessages();
          handler.handle(bundle);
          const ia = bundle.response.getOption(IANAOption)!;
          assert.equal((ia.options[0] as IAAddressOption).address, "2001:db8:100::42");
        }
        // The lease stores opened with a role that may not create tables: the schema is current.
        const store = a[1].store as LeasequeryPostgresStore;
        assert.equal(store.available, true);
      } finally {
        for (const h of [...a, ...b]) await h.close();
      }
    },
  );

  await t.step("the read-only role reads the assignments and may not change them", async () => {
    const ok = await pg.psql("SELECT count(*) FROM assignments", {
      user: "dhcpkit_reader",
      db: "dhcp",
      password: secrets.reader,
    });
    assert.equal(ok.stdout.trim(), "3", ok.stderr);
    const refused = await pg.psql("DELETE FROM assignments", {
      user: "dhcpkit_reader",
      db: "dhcp",
      password: secrets.reader,
    });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /permission denied for table assignments/);
  });
});
