import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { buildSqliteCommand } from "../../../cli/build_sqlite.ts";
import {
  buildSqlite,
  type BuildSqliteOptions,
  EXIT_DELETION_SKIPPED,
  EXIT_ERROR,
  EXIT_OK,
} from "../../../src/handlers/static/build_sqlite.ts";
import { SqliteAssignmentSource } from "../../../src/handlers/static/sqlite/mod.ts";
import { tempDir } from "./fixtures.ts";

/** A CSV with rows `subscriber-id:<i>` for every i in `ids`, written with mtime `seconds`. */
function writeCsv(
  path: string,
  ids: number[],
  seconds: number,
  address = (i: number) => `2001:db8::${i.toString(16)}`,
) {
  const lines = ["id,address,prefix"];
  for (const i of ids) {
    lines.push(`subscriber-id:${i.toString(16).padStart(4, "0")},${address(i)},`);
  }
  Deno.writeTextFileSync(path, lines.join("\n") + "\n");
  Deno.utimeSync(path, seconds, seconds);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function rows(db: string): Map<string, { address: string | null; csv_mtime: bigint }> {
  const conn = new DatabaseSync(db, { readOnly: true });
  try {
    const st = conn.prepare("SELECT id, address, csv_mtime FROM assignments");
    st.setReadBigInts(true);
    return new Map(
      (st.all() as { id: string; address: string | null; csv_mtime: bigint }[]).map((
        r,
      ) => [r.id, r]),
    );
  } finally {
    conn.close();
  }
}

function build(options: Partial<BuildSqliteOptions> & { source: string; destination: string }) {
  const log: string[] = [];
  return buildSqlite({ pauseMs: 0, log: (level, m) => log.push(`${level}: ${m}`), ...options })
    .then((result) => ({ ...result, log }));
}

Deno.test("build-sqlite: table layout, generation marker, canonical rows", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = `${dir}/a.csv`, db = `${dir}/a.sqlite`;
    Deno.writeTextFileSync(
      csv,
      "id,address,prefix\r\nInterface-ID-Str:eth0,2001:DB8:0:0::1,2001:db8:1:0::/64\r\n" +
        "subscriber-id:zz,2001:db8::2,\r\ninterface-id:65746830,2001:db8::3,\r\n",
    );
    Deno.utimeSync(csv, 1_700_000_000.5, 1_700_000_000.5);
    const result = await build({ source: csv, destination: db });
    assert.equal(result.exitCode, EXIT_OK, result.message);
    assert.equal(result.written, 1);
    assert.equal(result.skipped, 2);
    assert.ok(
      result.log.some((l) => /a\.csv:3: subscriber-id is not hexadecimal/.test(l)),
      result.log.join("\n"),
    );
    assert.ok(result.log.some((l) => /a\.csv:4: duplicate id interface-id:65746830/.test(l)));
    const conn = new DatabaseSync(db, { readOnly: true });
    const sql = (conn.prepare("SELECT sql FROM sqlite_master WHERE name = 'assignments'").get() as {
      sql: string;
    }).sql;
    conn.close();
    assert.match(
      sql,
      /id TEXT PRIMARY KEY NOT NULL, address TEXT NULL, prefix TEXT NULL, csv_mtime INT NOT NULL\) WITHOUT ROWID/,
    );
    const row = rows(db).get("interface-id:65746830")!;
    assert.equal(row.address, "2001:db8::1");
    assert.equal(row.csv_mtime, 1_700_000_000_500_000_000n);
    const source = new SqliteAssignmentSource(db);
    assert.equal(source.lookup(["interface-id:65746830"])?.prefix?.toString(), "2001:db8:1::/64");
    source.close();
  } finally {
    cleanup();
  }
});

Deno.test("build-sqlite: updates in place and deletes stale rows within the 30% rule", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = `${dir}/a.csv`, db = `${dir}/a.sqlite`;
    writeCsv(csv, range(0, 100), 1_700_000_000);
    assert.equal((await build({ source: csv, destination: db, batchSize: 7 })).exitCode, EXIT_OK);
    // 20 rows gone, 10 changed, 5 new: 85 of 105 rows are current (81%).
    writeCsv(
      csv,
      range(20, 105),
      1_700_000_010,
      (i) => i < 30 ? `2001:db8::ff:${i}` : `2001:db8::${i.toString(16)}`,
    );
    const result = await build({ source: csv, destination: db, batchSize: 7 });
    assert.equal(result.exitCode, EXIT_OK, result.message);
    assert.equal(result.deleted, 20);
    const table = rows(db);
    assert.equal(table.size, 85);
    assert.equal(table.get("subscriber-id:0000"), undefined);
    assert.equal(table.get("subscriber-id:0014")!.address, "2001:db8::ff:20");
    assert.equal(table.get("subscriber-id:0068")!.csv_mtime, 1_700_000_010_000_000_000n);
    // The same file again: nothing stale, nothing changes.
    const again = await build({ source: csv, destination: db });
    assert.equal(again.exitCode, EXIT_OK);
    assert.equal(again.deleted, 0);
    assert.equal(rows(db).size, 85);
  } finally {
    cleanup();
  }
});

Deno.test("build-sqlite: more than 30% stale needs --force (exit 2 without)", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const csv = `${dir}/a.csv`, db = `${dir}/a.sqlite`;
    writeCsv(csv, range(0, 100), 1_700_000_000);
    assert.equal((await build({ source: csv, destination: db })).exitCode, EXIT_OK);
    writeCsv(csv, range(60, 130), 1_700_000_010); // 70 current, 60 stale of 130 (54%)
    const skipped = await build({ source: csv, destination: db });
    assert.equal(skipped.exitCode, EXIT_DELETION_SKIPPED);
    assert.equal(skipped.kept, 60);
    assert.match(skipped.message, /not deleting 60 stale rows.*--force/);
    assert.equal(rows(db).size, 130); // new rows are in, old ones kept
    const forced = await build({ source: csv, destination: db, force: true });
    assert.equal(forced.exitCode, EXIT_OK, forced.message);
    assert.equal(forced.deleted, 60);
    assert.equal(rows(db).size, 70);
    // An empty CSV would wipe everything: refused too.
    writeCsv(csv, [], 1_700_000_020);
    assert.equal((await build({ source: csv, destination: db })).exitCode, EXIT_DELETION_SKIPPED);
    assert.equal(rows(db).size, 70);
  } finally {
    cleanup();
  }
});

Deno.test("build-sqlite: stops when another run writes newer data, refuses older files", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const older = `${dir}/older.csv`, newer = `${dir}/newer.csv`, db = `${dir}/a.sqlite`;
    writeCsv(older, range(0, 50), 1_700_000_000);
    writeCsv(newer, range(0, 50), 1_700_000_100, (i) => `2001:db8::a:${i}`);
    let inner: Awaited<ReturnType<typeof build>> | undefined;
    const result = await build({
      source: older,
      destination: db,
      batchSize: 10,
      afterBatch: async (n) => {
        // Another build-sqlite run with a newer CSV starts after our second batch.
        if (n === 2) inner = await build({ source: newer, destination: db, batchSize: 10 });
      },
    });
    assert.equal(inner?.exitCode, EXIT_OK, inner?.message);
    assert.equal(result.exitCode, EXIT_ERROR);
    assert.match(result.message, /holds data from a newer CSV file.*another build-sqlite run/);
    assert.equal(result.written, 20);
    // The newer data is complete and untouched.
    const table = rows(db);
    assert.equal(table.size, 50);
    for (const row of table.values()) assert.equal(row.csv_mtime, 1_700_000_100_000_000_000n);
    assert.equal(table.get("subscriber-id:0031")!.address, "2001:db8::a:49");
    // Running the older file now is refused up front.
    const late = await build({ source: older, destination: db });
    assert.equal(late.exitCode, EXIT_ERROR);
    assert.match(late.message, /touch it to import it anyway/);
    assert.equal(late.written, 0);
  } finally {
    cleanup();
  }
});

Deno.test("build-sqlite: unusable sources and destinations", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = `${dir}/a.sqlite`;
    Deno.writeTextFileSync(`${dir}/bad.csv`, "id,address\nsubscriber-id:01,2001:db8::1\n");
    let result = await build({ source: `${dir}/bad.csv`, destination: db });
    assert.equal(result.exitCode, EXIT_ERROR);
    assert.match(result.message, /bad\.csv: line 1 .*missing prefix/);
    assert.throws(() => Deno.statSync(db), Deno.errors.NotFound); // nothing created
    result = await build({ source: `${dir}/missing.csv`, destination: db });
    assert.equal(result.exitCode, EXIT_ERROR);
    assert.match(result.message, /missing\.csv: cannot read/);
    writeCsv(`${dir}/good.csv`, [1], 1_700_000_000);
    Deno.writeTextFileSync(`${dir}/text.sqlite`, "not a database ".repeat(100));
    result = await build({ source: `${dir}/good.csv`, destination: `${dir}/text.sqlite` });
    assert.equal(result.exitCode, EXIT_ERROR);
    assert.match(result.message, /text\.sqlite: not a usable SQLite database/);
    const other = new DatabaseSync(`${dir}/other.sqlite`);
    other.exec("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT)");
    other.close();
    result = await build({ source: `${dir}/good.csv`, destination: `${dir}/other.sqlite` });
    assert.equal(result.exitCode, EXIT_ERROR);
    assert.match(result.message, /lacks the column\(s\) prefix/);
  } finally {
    cleanup();
  }
});

Deno.test("build-sqlite: a hand-made table gets csv_mtime, its old rows count as stale", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = `${dir}/a.sqlite`, csv = `${dir}/a.csv`;
    const conn = new DatabaseSync(db);
    conn.exec(
      "CREATE TABLE assignments (id TEXT PRIMARY KEY NOT NULL, address TEXT, prefix TEXT) WITHOUT ROWID",
    );
    conn.prepare("INSERT INTO assignments VALUES ('subscriber-id:ffff', '2001:db8::9', NULL)")
      .run();
    conn.close();
    writeCsv(csv, range(0, 9), 1_700_000_000);
    const result = await build({ source: csv, destination: db });
    assert.equal(result.exitCode, EXIT_OK, result.message);
    assert.equal(result.deleted, 1);
    assert.equal(rows(db).size, 9);
  } finally {
    cleanup();
  }
});

Deno.test("build-sqlite command: arguments, output and exit codes", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out: string[] = [], err: string[] = [];
    const output = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    assert.equal(await buildSqliteCommand(["--help"], output), 0);
    assert.match(out.join("\n"), /Usage: dhcpkit build-sqlite \[-f\] \[-v\] SOURCE DEST/);
    assert.equal(await buildSqliteCommand(["only-one"], output), 1);
    assert.match(err.join("\n"), /^dhcpkit build-sqlite: missing DEST/);
    assert.equal(await buildSqliteCommand(["--bogus", "a", "b"], output), 1);

    const csv = `${dir}/a.csv`, db = `${dir}/a.sqlite`;
    writeCsv(csv, range(0, 10), 1_700_000_000);
    out.length = 0;
    assert.equal(await buildSqliteCommand([csv, db], output), 0);
    assert.deepEqual(out, []); // quiet by default
    writeCsv(csv, range(8, 10), 1_700_000_010);
    assert.equal(await buildSqliteCommand([csv, db], output), 2);
    assert.match(out.join("\n"), /WARNING: .*not deleting 8 stale rows/);
    out.length = 0;
    assert.equal(await buildSqliteCommand(["-f", "-vv", csv, db], output), 0);
    assert.match(out.join("\n"), /INFO: .*2 rows imported, 8 stale rows deleted/);
    assert.match(out.join("\n"), /INFO: done in/);
    out.length = 0;
    assert.equal(await buildSqliteCommand([`${dir}/missing.csv`, db], output), 1);
    assert.match(err.join("\n"), /^dhcpkit build-sqlite: .*missing\.csv: cannot read/m);
  } finally {
    cleanup();
  }
});
