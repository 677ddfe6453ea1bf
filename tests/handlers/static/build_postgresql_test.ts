/** `dhcpkit build-postgresql` against a real PostgreSQL cluster. */

import assert from "node:assert/strict";
import {
  buildPostgresql,
  type BuildPostgresqlOptions,
  EXIT_DELETION_SKIPPED,
  EXIT_ERROR,
  EXIT_OK,
} from "../../../src/handlers/static/build_postgresql.ts";
import { postgresTest } from "../../helpers/postgres.ts";
import { assertOneLineError, runCli } from "../../cli/helpers.ts";
import { SAMPLE_CSV } from "./fixtures.ts";

/** A CSV with rows `subscriber-id:<i>` for every i in `ids`. */
function csv(ids: number[], address = (i: number) => `2001:db8::${i.toString(16)}`): string {
  const lines = ["id,address,prefix"];
  for (const i of ids) {
    lines.push(`subscriber-id:${i.toString(16).padStart(4, "0")},${address(i)},`);
  }
  return lines.join("\n") + "\n";
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

postgresTest("build-postgresql", async (pg, t) => {
  const passwordFile = await pg.createRole("loader", "load it");
  await pg.createDatabase("dhcp");
  await pg.sql("ALTER DATABASE dhcp OWNER TO loader");
  const url = pg.url("loader", "dhcp");
  const dir = Deno.makeTempDirSync();
  const file = (name: string, text: string) => {
    Deno.writeTextFileSync(`${dir}/${name}`, text);
    return `${dir}/${name}`;
  };
  const build = async (source: string, options: Partial<BuildPostgresqlOptions> = {}) => {
    const log: string[] = [];
    const result = await buildPostgresql({
      source,
      url,
      passwordFile,
      log: (level, m) => log.push(`${level}: ${m}`),
      ...options,
    });
    return { ...result, log };
  };
  const count = async (table = "assignments") =>
    Number(await pg.sql(`SELECT count(*) FROM ${table}`, "dhcp"));

  try {
    await t.step("creates the table and loads canonical rows; the schema is recorded", async () => {
      const r = await build(file("sample.csv", SAMPLE_CSV));
      assert.equal(r.exitCode, EXIT_OK, r.message);
      assert.equal(r.written, 10);
      assert.equal(
        await pg.sql(
          "SELECT id || ',' || coalesce(address, '') || ',' || coalesce(prefix, '') FROM assignments " +
            "WHERE id LIKE 'interface-id:%' ORDER BY id",
          "dhcp",
        ),
        "interface-id:65746837,2001:db8:1::20,\ninterface-id:66613232,2001:db8:1::21,\n" +
          "interface-id:7072656669782d6f6e6c79,,2001:db8:600::/56",
      );
      assert.equal(
        await pg.sql(
          "SELECT version FROM dhcpkit_schema WHERE component = 'static:assignments'",
          "dhcp",
        ),
        "2",
      );
      const triggers = () =>
        pg.sql(
          "SELECT string_agg(tgname || ':' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger " +
            "WHERE tgrelid = 'assignments'::regclass",
          "dhcp",
        );
      const all = "dhcpkit_notify_delete:A,dhcpkit_notify_insert:A,dhcpkit_notify_truncate:A," +
        "dhcpkit_notify_update:A";
      assert.equal(await triggers(), all);
      // A table of version 1 (before the change triggers) gets them on the next run.
      await pg.sql(
        "DROP TRIGGER dhcpkit_notify_insert ON assignments; DROP TRIGGER dhcpkit_notify_update " +
          "ON assignments; DROP TRIGGER dhcpkit_notify_delete ON assignments; DROP TRIGGER " +
          "dhcpkit_notify_truncate ON assignments; UPDATE dhcpkit_schema SET version = 1 " +
          "WHERE component = 'static:assignments'",
        "dhcp",
      );
      assert.equal(await triggers(), "");
      const again = await build(file("sample.csv", SAMPLE_CSV));
      assert.equal(again.exitCode, EXIT_OK, again.message);
      assert.equal(await triggers(), all);
    });

    await t.step(
      "invalid rows are reported with line numbers and skipped; the first duplicate wins",
      async () => {
        const r = await build(
          file(
            "bad.csv",
            "id,address,prefix\nsubscriber-id:01,2001:db8::1,\nsubscriber-id:02,not-an-address,\n" +
              "nonsense,2001:db8::3,\nsubscriber-id:01,2001:db8::4,\n",
          ),
          { force: true },
        );
        assert.equal(r.exitCode, EXIT_OK, r.message);
        assert.equal(r.written, 1);
        assert.equal(r.skipped, 3);
        assert.ok(r.log.some((l) => /bad\.csv:3: .*not-an-address/.test(l)), r.log.join("\n"));
        assert.ok(r.log.some((l) => /bad\.csv:4: /.test(l)));
        assert.ok(r.log.some((l) => /bad\.csv:5: duplicate id subscriber-id:01/.test(l)));
        assert.equal(await pg.sql("SELECT address FROM assignments", "dhcp"), "2001:db8::1");
      },
    );

    await t.step("the 30% rule: stale rows kept (exit 2) unless --force", async () => {
      assert.equal(
        (await build(file("all.csv", csv(range(0, 100))), { force: true })).exitCode,
        EXIT_OK,
      );
      assert.equal(await count(), 100);
      // 80 of 100 still there: 20 stale rows are deleted.
      let r = await build(file("most.csv", csv(range(0, 80))));
      assert.equal(r.exitCode, EXIT_OK, r.message);
      assert.equal(r.deleted, 20);
      assert.equal(await count(), 80);
      // Half of them plus changed addresses: the new rows are written, the stale ones kept.
      r = await build(file("half.csv", csv(range(0, 40), (i) => `2001:db8::1:${i.toString(16)}`)));
      assert.equal(r.exitCode, EXIT_DELETION_SKIPPED);
      assert.equal(r.kept, 40);
      assert.match(r.message, /not deleting 40 stale rows: that is more than 30% of the 80 rows/);
      assert.equal(await count(), 80);
      assert.equal(
        await pg.sql("SELECT address FROM assignments WHERE id = 'subscriber-id:0001'", "dhcp"),
        "2001:db8::1:1",
      );
      r = await build(`${dir}/half.csv`, { force: true });
      assert.equal(r.exitCode, EXIT_OK);
      assert.equal(r.deleted, 40);
      assert.equal(await count(), 40);
      // An empty file never empties the table without --force.
      r = await build(file("empty.csv", "id,address,prefix\n"));
      assert.equal(r.exitCode, EXIT_DELETION_SKIPPED);
      assert.equal(await count(), 40);
    });

    await t.step("readers see the old table until the commit; a second run refuses", async () => {
      const source = file("next.csv", csv(range(1000, 1050)));
      let during = -1;
      let second: Awaited<ReturnType<typeof build>> | undefined;
      const r = await build(source, {
        force: true,
        beforeSwap: async () => {
          during = await count();
          second = await build(source, { force: true });
          // Still the old rows for everybody else (the load is not committed).
          assert.equal(await count(), 40);
        },
      });
      assert.equal(r.exitCode, EXIT_OK, r.message);
      assert.equal(during, 40);
      assert.equal(second!.exitCode, EXIT_ERROR);
      assert.match(
        second!.message,
        /another build-postgresql run is loading table assignments in postgresql:\/\/loader@\/dhcp/,
      );
      assert.equal(await count(), 50);
      assert.equal(
        Number(
          await pg.sql(
            "SELECT count(*) FROM assignments WHERE id BETWEEN 'subscriber-id:03e8' AND 'subscriber-id:0419'",
            "dhcp",
          ),
        ),
        50,
      );
    });

    await t.step("a CSV file without the needed columns changes nothing", async () => {
      const r = await build(file("cols.csv", "id,address\nsubscriber-id:01,2001:db8::1\n"), {
        table: "untouched",
      });
      assert.equal(r.exitCode, EXIT_ERROR);
      assert.match(r.message, /cols\.csv/);
      assert.equal(await pg.sql("SELECT to_regclass('untouched') IS NULL", "dhcp"), "t");
    });

    await t.step("the command: one line for each mistake, exit 1; --table, -v", async () => {
      const source = file("cli.csv", csv(range(0, 5)));
      const ok = await runCli([
        "build-postgresql",
        "-v",
        "-v",
        "--password-file",
        passwordFile,
        "--table",
        "other",
        source,
        url,
      ]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(
        ok.stdout,
        /INFO: table other in postgresql:\/\/loader@\/dhcp\?host=.*: 5 rows loaded, nothing stale/,
      );
      assert.equal(await count("other"), 5);
      const cases: [string[], RegExp][] = [
        [
          [source, url.replace("loader@", "loader:load it@")],
          /contains a password: put it in a password file/,
        ],
        [["--table", "x;y", source, url], /--table: "x;y" is not a table name/],
        [
          ["--password-file", `${dir}/nope`, source, url],
          /password file .*nope: cannot read it \(no such file\)/,
        ],
        [[source, url], /password authentication failed|SASL|password/i],
        [[source, url.replace("?host=", "?host=/nowhere")], /no server listening on \/nowhere/],
        [[`${dir}/missing.csv`, url], /missing\.csv/],
        [[source], /URL/],
      ];
      for (const [args, expected] of cases) {
        const result = await runCli(["build-postgresql", ...args]);
        const line = assertOneLineError(result, "build-postgresql", 1);
        assert.match(line, expected);
        assert.ok(!line.includes("load it"), line);
      }
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
