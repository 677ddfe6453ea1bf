/**
 * `<static-postgresql>`'s rows cache kept current by PostgreSQL notifications, against a real
 * cluster: rows changed with SQL (UPDATE, DELETE, INSERT for a cached "no row", TRUNCATE, a
 * `build-postgresql` run) are used by the next lookup once their notification arrived (the test
 * waits for the source's cache generation to move, never for a fixed time); a killed LISTEN
 * connection empties the cache and lookups read the table; a table without the triggers (or
 * with one dropped) is never cached.
 */

import assert from "node:assert/strict";
import {
  type AsyncStaticAssignmentHandler,
  PostgresAssignmentSource,
  readNotifyChannel,
} from "../../../src/handlers/static/postgresql/mod.ts";
import { acquirePool, parseConnectionUrl } from "../../../src/storage/postgresql/mod.ts";
import { handlersFromConfig, postgresTest } from "../../helpers/postgres.ts";
import { addressOf, answer, fillTable, staticPostgresqlConfig } from "./lookup_helpers.ts";
import { bundleFromPacket } from "../../../src/pipeline/mod.ts";
import { CLIENT_DUID, iana, packet } from "../../pipeline/helpers.ts";
import { solicit } from "./fixtures.ts";
import { A, address, B, changed, CSV, dhcpDatabase, NEW, until } from "./notify_helpers.ts";

async function open(url: string, passwordFile: string, table = "assignments") {
  const pool = acquirePool(parseConnectionUrl(url), { passwordFile });
  return await new PostgresAssignmentSource(pool, table).open();
}

postgresTest("static-postgresql rows cache", async (pg, t) => {
  const db = await dhcpDatabase(pg);
  const { url, passwordFile, build } = db;

  try {
    await build(CSV);

    await t.step(
      "build-postgresql installs the triggers; known clients need no query",
      async () => {
        const pool = acquirePool(parseConnectionUrl(url), { passwordFile });
        assert.equal(await readNotifyChannel(pool, "assignments"), "dhcpkit:assignments");
        await pool.release();
        const source = await open(url, passwordFile);
        try {
          assert.equal(source.caching, true);
          assert.equal(await address(source, NEW, A), "2001:db8::1");
          assert.equal(await address(source, NEW), "none");
          const queries = source.batches.queries;
          for (let i = 0; i < 5; i++) {
            assert.equal(await address(source, NEW, A), "2001:db8::1");
            assert.equal(await address(source, NEW), "none");
            assert.deepEqual(source.peek([B]), undefined); // never read: not known
          }
          assert.equal(source.batches.queries, queries);
          assert.equal(source.rowCacheAnswers, 11); // the second lookup before the loop too
        } finally {
          await source.close();
        }
      },
    );

    await t.step("UPDATE, DELETE, INSERT and TRUNCATE are used once notified", async () => {
      const source = await open(url, passwordFile);
      try {
        assert.equal(await address(source, A), "2001:db8::1");
        assert.equal(await address(source, NEW, B), "2001:db8::2");
        await changed(
          pg,
          source,
          `UPDATE assignments SET address = '2001:db8::aa' WHERE id = '${A}'`,
        );
        assert.equal(await address(source, A), "2001:db8::aa");
        await changed(pg, source, `DELETE FROM assignments WHERE id = '${A}'`);
        assert.equal(await address(source, A), "none");
        // A cached "no row" answer is dropped by the INSERT of that id.
        assert.equal(source.peek([NEW])?.assignment, undefined);
        assert.notEqual(source.peek([NEW]), undefined);
        await changed(pg, source, `INSERT INTO assignments VALUES ('${NEW}', '2001:db8::3', NULL)`);
        assert.equal(await address(source, NEW, B), "2001:db8::3");
        // An id changed by UPDATE: both the old and the new id are dropped.
        await changed(pg, source, `UPDATE assignments SET id = '${A}' WHERE id = '${NEW}'`);
        assert.equal(await address(source, NEW, B), "2001:db8::2");
        assert.equal(await address(source, A), "2001:db8::3");
        assert.ok(source.cachedRows > 0);
        await changed(pg, source, "TRUNCATE assignments");
        assert.equal(source.cachedRows, 0);
        assert.equal(await address(source, NEW, B), "none");
        assert.equal(await address(source, A), "none");
      } finally {
        await source.close();
      }
    });

    await t.step("a build-postgresql run is used once notified", async () => {
      await build(CSV);
      const source = await open(url, passwordFile);
      try {
        assert.equal(await address(source, A), "2001:db8::1");
        assert.equal(await address(source, NEW), "none");
        const before = source.cacheGeneration;
        await build(
          `id,address,prefix\n${A},2001:db8::11,\n${B},2001:db8::2,2001:db8:200::/56\n` +
            `${NEW},2001:db8::13,\n`,
        );
        await until(() => source.cacheGeneration !== before, "the build's notification");
        assert.equal(await address(source, A), "2001:db8::11");
        assert.equal(await address(source, NEW), "2001:db8::13");
        // A statement changing many rows forgets every row with one notification.
        const many = Array.from({ length: 150 }, (_, i) => `duid:00030001aabbccdd${i + 1000}`);
        await changed(
          pg,
          source,
          `INSERT INTO assignments SELECT unnest('{${many.join(",")}}'::text[]), NULL, NULL`,
        );
        assert.equal(source.cachedRows, 0);
        assert.equal(await address(source, A), "2001:db8::11");
      } finally {
        await source.close();
      }
    });

    await t.step(
      "through the handler: a known client's lookup has nothing to wait for",
      async () => {
        const id = `duid:${CLIENT_DUID.toHex()}`;
        await pg.sql(`INSERT INTO assignments VALUES ('${id}', '2001:db8::77', NULL)`, "dhcp");
        const [handler] = handlersFromConfig(
          // Row by row: the whole-table read is postgresql_preload_test.ts's.
          staticPostgresqlConfig(url, passwordFile, "    preload-rows 0\n"),
        ) as AsyncStaticAssignmentHandler[];
        await handler.workerInit();
        try {
          const source = handler.source as PostgresAssignmentSource;
          const message = solicit(CLIENT_DUID, iana(1));
          const pending = () => handler.lookup(bundleFromPacket(packet(message), false));
          assert.ok(pending() instanceof Promise); // first time: read from the table
          assert.equal(addressOf(await answer([handler], message)), "2001:db8::77");
          assert.equal(pending(), undefined); // known now: answered without waiting
          await changed(
            pg,
            source,
            `UPDATE assignments SET address = '2001:db8::78' WHERE id = '${id}'`,
          );
          assert.ok(pending() instanceof Promise);
          assert.equal(addressOf(await answer([handler], message)), "2001:db8::78");
          assert.equal(pending(), undefined);
          await changed(pg, source, `DELETE FROM assignments WHERE id = '${id}'`);
          assert.equal(addressOf(await answer([handler], message)), undefined);
          assert.equal(pending(), undefined); // "no row" is known too
        } finally {
          await handler.close();
        }
      },
    );

    await t.step(
      "a killed LISTEN connection empties the cache; lookups read the table",
      async () => {
        await build(CSV);
        const source = await open(url, passwordFile);
        try {
          assert.equal(await address(source, A), "2001:db8::1");
          assert.ok(source.cachedRows > 0);
          const queries = source.batches.queries;
          await changed(
            pg,
            source,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity " +
              "WHERE application_name = 'dhcpkit (listen)'",
          );
          assert.equal(source.cachedRows, 0);
          // Changes while not listening are read from the table.
          await pg.sql(`UPDATE assignments SET address = '2001:db8::bb' WHERE id = '${A}'`, "dhcp");
          assert.equal(await address(source, A), "2001:db8::bb");
          assert.ok(source.batches.queries > queries);
          // It listens again (at once, or at the next check).
          await source.check();
          await until(() => source.caching, "listening again");
          assert.equal(await address(source, A), "2001:db8::bb");
          await changed(
            pg,
            source,
            `UPDATE assignments SET address = '2001:db8::cc' WHERE id = '${A}'`,
          );
          assert.equal(await address(source, A), "2001:db8::cc");
        } finally {
          await source.close();
        }
      },
    );

    await t.step("answers from the rows cache keep the outage cache fresh", async () => {
      await build(CSV);
      const pool = acquirePool(parseConnectionUrl(url), { passwordFile, backoffMs: 60_000 });
      const source = await new PostgresAssignmentSource(pool, "assignments", { cacheTime: 3600 })
        .open();
      try {
        assert.equal(await address(source, B), "2001:db8::2");
        assert.equal(await address(source, A), "2001:db8::1");
        // Known ids in an order never asked before: answered (and remembered) without a query.
        const queries = source.batches.queries;
        assert.equal(await address(source, B, A), "2001:db8::2");
        assert.equal(source.batches.queries, queries);
        await pg.stopServer();
        await until(() => !source.caching, "the lost LISTEN connection");
        assert.equal(await address(source, B, A), "2001:db8::2");
        assert.equal(source.cacheAnswers, 1);
        await assert.rejects(source.fetch([NEW, B])); // never read together: not answered
      } finally {
        if (!pg.running) await pg.startServer();
        await source.close();
      }
    });

    await t.step("without the triggers nothing is cached", async () => {
      await fillTable(url, passwordFile, CSV, "plain");
      const source = await open(url, passwordFile, "plain");
      try {
        assert.equal(source.caching, false);
        const queries = source.batches.queries;
        assert.equal(await address(source, A), "2001:db8::1");
        assert.equal(await address(source, A), "2001:db8::1");
        assert.equal(source.batches.queries, queries + 2);
        assert.equal(source.peek([A]), undefined);
      } finally {
        await source.close();
      }
      // A dropped trigger stops the cache at the next check.
      const cached = await open(url, passwordFile);
      try {
        assert.equal(cached.caching, true);
        assert.equal(await address(cached, A), "2001:db8::1");
        await pg.sql("DROP TRIGGER dhcpkit_notify_update ON assignments", "dhcp");
        await cached.check();
        assert.equal(cached.caching, false);
        assert.equal(cached.cachedRows, 0);
        await pg.sql(`UPDATE assignments SET address = '2001:db8::dd' WHERE id = '${A}'`, "dhcp");
        assert.equal(await address(cached, A), "2001:db8::dd");
      } finally {
        await cached.close();
      }
    });
  } finally {
    db.remove();
  }
});
