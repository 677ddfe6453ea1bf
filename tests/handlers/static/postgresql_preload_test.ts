/**
 * `<static-postgresql>` reading a small table whole (`preload-rows`), against a real cluster:
 * clients never seen are answered without a query, also "no row"; an id a notification names is
 * read from the table once and then known again; "forget everything" drops the copy until the
 * next check reads it again; a malformed row still fails its lookup (never "no row"); a table
 * over the limit is read row by row; and, whatever the interleaving of changes with the read,
 * every lookup after the notifications arrived gives the table's current row.
 */

import assert from "node:assert/strict";
import {
  AssignmentTableError,
  type AsyncStaticAssignmentHandler,
  PostgresAssignmentSource,
} from "../../../src/handlers/static/postgresql/mod.ts";
import { acquirePool, parseConnectionUrl } from "../../../src/storage/postgresql/mod.ts";
import { handlersFromConfig, postgresTest } from "../../helpers/postgres.ts";
import { addressOf, answer, staticPostgresqlConfig } from "./lookup_helpers.ts";
import { bundleFromPacket } from "../../../src/pipeline/mod.ts";
import { CLIENT_DUID, iana, packet } from "../../pipeline/helpers.ts";
import { solicit } from "./fixtures.ts";
import { A, address, B, changed, CSV, dhcpDatabase, NEW, until } from "./notify_helpers.ts";

const BAD = "duid:00030001aabbccddee04";

postgresTest("static-postgresql preload-rows", async (pg, t) => {
  const db = await dhcpDatabase(pg);
  const { url, passwordFile, build } = db;
  const open = async (preloadLimit: number) => {
    const pool = acquirePool(parseConnectionUrl(url), { passwordFile });
    return await new PostgresAssignmentSource(pool, "assignments", { preloadLimit }).open();
  };

  try {
    await t.step("clients never seen are answered from memory, also without a row", async () => {
      await build(CSV);
      const source = await open(10);
      try {
        assert.equal(source.caching, true);
        assert.equal(source.preloadedRows, 2);
        for (let i = 0; i < 3; i++) {
          assert.equal(await address(source, NEW, B), "2001:db8::2");
          assert.equal(await address(source, A), "2001:db8::1");
          assert.equal(await address(source, NEW), "none");
          assert.deepEqual(source.peek([NEW]), {});
        }
        assert.equal(source.batches.queries, 0);
      } finally {
        await source.close();
      }
    });

    await t.step("changed ids are read once, then known again", async () => {
      await build(CSV);
      const source = await open(10);
      try {
        assert.equal(await address(source, A), "2001:db8::1");
        await changed(
          pg,
          source,
          `UPDATE assignments SET address = '2001:db8::aa' WHERE id = '${A}'`,
        );
        assert.equal(source.peek([A]), undefined); // to be read from the table
        assert.equal(await address(source, A), "2001:db8::aa");
        assert.equal(source.batches.queries, 1);
        assert.equal(await address(source, A), "2001:db8::aa");
        assert.equal(source.batches.queries, 1);

        await changed(pg, source, `INSERT INTO assignments VALUES ('${NEW}', '2001:db8::3', NULL)`);
        assert.equal(await address(source, NEW, B), "2001:db8::3");
        assert.equal(await address(source, NEW, B), "2001:db8::3");
        await changed(pg, source, `DELETE FROM assignments WHERE id = '${B}'`);
        assert.equal(await address(source, B), "none");
        assert.equal(await address(source, B), "none");
        assert.equal(source.batches.queries, 3);
        // Kept in the copy, not only in the bounded rows cache.
        assert.equal(source.preloadedRows, 2);
      } finally {
        await source.close();
      }
    });

    await t.step("a malformed row fails its lookup, before and after a change", async () => {
      await build(CSV);
      await pg.sql(`INSERT INTO assignments VALUES ('${BAD}', 'not an address', NULL)`, "dhcp");
      const source = await open(10);
      try {
        assert.equal(source.preloadedRows, 3);
        for (let i = 0; i < 2; i++) {
          await assert.rejects(source.fetch([BAD, A]), AssignmentTableError);
        }
        await changed(pg, source, `UPDATE assignments SET prefix = 'bad' WHERE id = '${A}'`);
        await assert.rejects(source.fetch([A]), AssignmentTableError);
        await assert.rejects(source.fetch([A]), AssignmentTableError);
        await changed(pg, source, `UPDATE assignments SET prefix = NULL WHERE id = '${A}'`);
        assert.equal(await address(source, A), "2001:db8::1");
      } finally {
        await source.close();
      }
    });

    await t.step("forget everything drops the copy until the next check", async () => {
      await build(CSV);
      const source = await open(1000);
      try {
        assert.equal(source.preloadedRows, 2);
        const many = Array.from({ length: 150 }, (_, i) => `duid:00030001aabbccdd${i + 1000}`);
        await changed(
          pg,
          source,
          `INSERT INTO assignments SELECT unnest('{${
            many.join(",")
          }}'::text[]), '2001:db8::9', NULL`,
        );
        assert.equal(source.preloadedRows, 0);
        assert.equal(source.peek([many[7]]), undefined);
        assert.equal(await address(source, many[7]), "2001:db8::9");
        await source.check();
        await until(() => !source.preloading, "the preload");
        assert.equal(source.preloadedRows, 152);
        const queries = source.batches.queries;
        assert.equal(await address(source, many[8]), "2001:db8::9");
        assert.equal(await address(source, NEW), "none");
        assert.equal(source.batches.queries, queries);
      } finally {
        await source.close();
      }
    });

    await t.step("a table over the limit is read row by row", async () => {
      await build(CSV);
      const source = await open(1);
      try {
        assert.equal(source.caching, true);
        assert.equal(source.preloadedRows, 0);
        assert.equal(source.peek([NEW]), undefined);
        assert.equal(await address(source, NEW), "none");
        assert.equal(source.batches.queries, 1);
        assert.deepEqual(source.peek([NEW]), {}); // the rows cache as before
      } finally {
        await source.close();
      }
    });

    await t.step("changes during the read: every lookup gives the current row", async () => {
      const ids = Array.from({ length: 5000 }, (_, i) => `duid:00030001aabb${1000 + i}`);
      await build(`id,address,prefix\n${ids.map((id) => `${id},2001:db8::1,`).join("\n")}\n`);
      const touched = ids.filter((_, i) => i % 97 === 0);
      const writer = acquirePool(parseConnectionUrl(url), { passwordFile });
      let writing = true;
      let round = 0;
      // Changes race with the listening and the whole-table read, until the source is open.
      const writes = (async () => {
        while (writing) {
          const id = touched[round % touched.length];
          await writer.query(
            round % 3 === 2
              ? "DELETE FROM assignments WHERE id = $1"
              : "INSERT INTO assignments VALUES ($1, $2, NULL) " +
                "ON CONFLICT (id) DO UPDATE SET address = excluded.address",
            round % 3 === 2 ? [id] : [id, `2001:db8::${(round % 60000 + 2).toString(16)}`],
          );
          round++;
        }
      })();
      let source: PostgresAssignmentSource | undefined;
      try {
        source = await open(10_000);
        const duringOpen = source.notifications;
        writing = false;
        await writes;
        assert.equal(source.preloadedRows > 0, true);
        assert.ok(duringOpen > 0, "no change was notified while the source opened");
        // Every notification sent so far has arrived once one more change's has.
        await changed(
          pg,
          source,
          `UPDATE assignments SET address = '2001:db8::ffff' WHERE id = '${ids[1]}'`,
        );
        const truth = new Map<string, string>();
        for (
          const row of await writer.query<{ id: string; address: string | null }>(
            "SELECT id, address FROM assignments",
          )
        ) truth.set(row.id, row.address ?? "none");
        for (const id of [...touched, ids[1], ids[2], NEW]) {
          assert.equal(await address(source, id), truth.get(id) ?? "none", id);
        }
      } finally {
        writing = false;
        await writes;
        await writer.release();
        await source?.close();
      }
    });

    await t.step("preload-rows in the configuration; 0 reads row by row", async () => {
      await build(CSV);
      const id = `duid:${CLIENT_DUID.toHex()}`;
      await pg.sql(`INSERT INTO assignments VALUES ('${id}', '2001:db8::77', NULL)`, "dhcp");
      for (const [extra, preloaded] of [["", 3], ["    preload-rows 0\n", 0]] as const) {
        const [handler] = handlersFromConfig(
          staticPostgresqlConfig(url, passwordFile, extra),
        ) as AsyncStaticAssignmentHandler[];
        await handler.workerInit();
        try {
          const source = handler.source as PostgresAssignmentSource;
          assert.equal(source.preloadedRows, preloaded);
          const message = solicit(CLIENT_DUID, iana(1));
          const pending = handler.lookup(bundleFromPacket(packet(message), false));
          assert.equal(pending instanceof Promise, preloaded === 0);
          assert.equal(addressOf(await answer([handler], message)), "2001:db8::77");
        } finally {
          await handler.close();
        }
      }
    });
  } finally {
    db.remove();
  }
});
