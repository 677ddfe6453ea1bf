import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import {
  SqliteAssignmentSource,
  SqliteFileError,
} from "../../../src/handlers/static/sqlite/mod.ts";
import { IAAddressOption, IANAOption } from "../../../src/protocol/mod.ts";
import { CLIENT_DUID, iana, run } from "../../pipeline/helpers.ts";
import { CLIENT_DUID_HEX, renew, solicit, staticPipeline, tempDir } from "./fixtures.ts";

const addressOf = (reply: ReturnType<typeof run>["reply"]) =>
  (reply!.getOption(IANAOption)!.options.find((o) => o instanceof IAAddressOption) as
    | IAAddressOption
    | undefined)?.address;

/**
 * Lookups of one batch share a read transaction that ends once the synchronous handling returns
 * (a microtask): a writer in this same thread must let that happen first.
 */
const batchDone = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

Deno.test("sqlite: rows changed while the server runs are used from the next batch on", async () => {
  const { pipeline: p, file, cleanup } = await staticPipeline("sqlite");
  const writer = new DatabaseSync(file);
  try {
    assert.equal(addressOf(run(p, solicit(CLIENT_DUID, iana(1))).reply), "2001:db8:1::10");
    // Within the batch, the lookups read one snapshot.
    assert.throws(() => writer.exec("UPDATE assignments SET address = address"), /locked/);
    await batchDone();
    writer.prepare("UPDATE assignments SET address = ? WHERE id = ?").run(
      "2001:db8:1::aa",
      `duid:${CLIENT_DUID_HEX}`,
    );
    assert.equal(addressOf(run(p, solicit(CLIENT_DUID, iana(1))).reply), "2001:db8:1::aa");
    // The next Renew moves the client over: old address withdrawn, new one given.
    await batchDone();
    const reply = run(p, renew(CLIENT_DUID, iana(1, "2001:db8:1::10"))).reply!;
    assert.deepEqual(
      reply.getOption(IANAOption)!.options.map((o) => {
        const a = o as IAAddressOption;
        return [a.address, a.validLifetime];
      }),
      [["2001:db8:1::10", 0], ["2001:db8:1::aa", 2000]],
    );
    await batchDone();
    writer.prepare("DELETE FROM assignments WHERE id = ?").run(`duid:${CLIENT_DUID_HEX}`);
    assert.equal(addressOf(run(p, solicit(CLIENT_DUID, iana(1))).reply), undefined);
  } finally {
    writer.close();
    await cleanup();
  }
});

Deno.test("sqlite: what a batch read is kept only while nobody writes the database", async () => {
  const { pipeline: p, file, cleanup } = await staticPipeline("sqlite");
  const writer = new DatabaseSync(file);
  const stranger = "00030001020000000bad";
  try {
    const source = new SqliteAssignmentSource(file);
    try {
      // A miss is remembered too, and forgotten when a row is added.
      assert.equal(source.lookupOne(`duid:${stranger}`), undefined);
      assert.equal(source.lookupOne(`duid:${stranger}`), undefined);
      await batchDone();
      writer.prepare(
        "INSERT INTO assignments (id, address, prefix, csv_mtime) VALUES (?, ?, NULL, 0)",
      ).run(
        `duid:${stranger}`,
        "2001:db8:1::77",
      );
      assert.equal(source.lookupOne(`duid:${stranger}`)?.address, "2001:db8:1::77");
      // Unchanged database: the same answer.
      await batchDone();
      const kept = source.lookupOne(`duid:${CLIENT_DUID_HEX}`);
      await batchDone();
      assert.equal(source.lookupOne(`duid:${CLIENT_DUID_HEX}`), kept);
      // A write by another connection, even to another row, makes it read again.
      await batchDone();
      writer.prepare("UPDATE assignments SET address = ? WHERE id = ?").run(
        "2001:db8:1::ab",
        `duid:${CLIENT_DUID_HEX}`,
      );
      await batchDone();
      assert.equal(source.lookupOne(`duid:${CLIENT_DUID_HEX}`)?.address, "2001:db8:1::ab");
    } finally {
      source.close();
    }
    await batchDone();
    assert.equal(addressOf(run(p, solicit(CLIENT_DUID, iana(1))).reply), "2001:db8:1::ab");
  } finally {
    writer.close();
    await cleanup();
  }
});

Deno.test("sqlite: hand-made databases without csv_mtime work; bad values are skipped", () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/a.sqlite`;
    const db = new DatabaseSync(path);
    db.exec("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)");
    db.prepare("INSERT INTO assignments VALUES (?, ?, ?)").run(
      "subscriber-id:01",
      "2001:db8::1",
      null,
    );
    db.prepare("INSERT INTO assignments VALUES (?, ?, ?)").run(
      "subscriber-id:02",
      "not-an-address",
      "",
    );
    db.prepare("INSERT INTO assignments VALUES (?, ?, ?)").run(
      "remote-id:9:02",
      "",
      "2001:db8:1::/48",
    );
    db.close();
    const source = new SqliteAssignmentSource(path);
    try {
      assert.equal(source.lookup(["subscriber-id:01"])?.address, "2001:db8::1");
      assert.equal(source.lookup(["subscriber-id:01"])?.prefix, undefined);
      assert.equal(source.lookup(["subscriber-id:02"]), undefined);
      assert.equal(source.lookup(["subscriber-id:02", "subscriber-id:01"])?.address, "2001:db8::1");
      assert.equal(source.lookup(["remote-id:9:02"])?.prefix?.toString(), "2001:db8:1::/48");
      assert.equal(source.lookup([]), undefined);
      // Order of the ids decides, not the order of the rows.
      assert.equal(
        source.lookup(["remote-id:9:02", "subscriber-id:01"])?.prefix?.toString(),
        "2001:db8:1::/48",
      );
    } finally {
      source.close();
    }
  } finally {
    cleanup();
  }
});

Deno.test("sqlite: files that are not usable are refused, naming the file", () => {
  const { dir, cleanup } = tempDir();
  try {
    const refuse = (path: string, message: RegExp) =>
      assert.throws(() => new SqliteAssignmentSource(path), (e: Error) => {
        assert.ok(e instanceof SqliteFileError);
        assert.ok(e.message.startsWith(path), e.message);
        assert.match(e.message, message);
        return true;
      });
    refuse(`${dir}/missing.sqlite`, /cannot open/);
    Deno.writeTextFileSync(`${dir}/text.sqlite`, "id,address,prefix\n".repeat(200));
    refuse(`${dir}/text.sqlite`, /not a usable SQLite database: file is not a database/);
    const empty = new DatabaseSync(`${dir}/empty.sqlite`);
    empty.exec("CREATE TABLE other (x)");
    empty.close();
    refuse(`${dir}/empty.sqlite`, /no table "assignments"/);
    const partial = new DatabaseSync(`${dir}/partial.sqlite`);
    partial.exec("CREATE TABLE assignments (id TEXT PRIMARY KEY, address TEXT)");
    partial.close();
    refuse(`${dir}/partial.sqlite`, /lacks the column\(s\) prefix/);
  } finally {
    cleanup();
  }
});

Deno.test("sqlite: a lookup waits for a writer's transaction instead of failing", async () => {
  const { pipeline: p, file, cleanup } = await staticPipeline("sqlite");
  try {
    // Another process holds an exclusive lock for 300 ms while it changes the row.
    const code = `
      import { DatabaseSync } from "node:sqlite";
      const db = new DatabaseSync(${JSON.stringify(file)});
      db.exec("BEGIN EXCLUSIVE");
      db.prepare("UPDATE assignments SET address = '2001:db8:1::bb' WHERE id = ?")
        .run(${JSON.stringify(`duid:${CLIENT_DUID_HEX}`)});
      console.log("locked");
      await new Promise((r) => setTimeout(r, 300));
      db.exec("COMMIT");
      db.close();
    `;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", code],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    const { value } = await reader.read();
    assert.match(new TextDecoder().decode(value), /locked/);
    const started = performance.now();
    assert.equal(addressOf(run(p, solicit(CLIENT_DUID, iana(1))).reply), "2001:db8:1::bb");
    assert.ok(performance.now() - started >= 100, "the lookup waited for the lock");
    reader.releaseLock();
    await child.stdout.cancel();
    assert.equal((await child.status).code, 0);
  } finally {
    await cleanup();
  }
});

/**
 * Run `fn` with a fresh database of the fixtures, a source reading it and a writer connection
 * (`timeout 0`: a lock held by the source makes the writer fail at once); closes all three.
 */
async function withSource(
  fn: (source: SqliteAssignmentSource, writer: DatabaseSync) => Promise<void>,
  writerOptions: { timeout?: number } = { timeout: 0 },
): Promise<void> {
  const { file, cleanup } = await staticPipeline("sqlite");
  const writer = new DatabaseSync(file, writerOptions);
  try {
    const source = new SqliteAssignmentSource(file);
    try {
      await fn(source, writer);
    } finally {
      source.close();
    }
  } finally {
    writer.close();
    await cleanup();
  }
}

Deno.test("sqlite: a batch of known clients takes no lock; the next batch sees a commit", () =>
  withSource(async (source, writer) => {
    const id = `duid:${CLIENT_DUID_HEX}`;
    assert.equal(source.lookupOne(id)?.address, "2001:db8:1::10");
    await batchDone();
    // Known: answered from memory, so a writer can commit in the middle of the batch.
    assert.equal(source.lookupOne(id)?.address, "2001:db8:1::10");
    writer.prepare("UPDATE assignments SET address = ? WHERE id = ?").run("2001:db8:1::cc", id);
    await batchDone();
    assert.equal(source.lookupOne(id)?.address, "2001:db8:1::cc");
  }));

Deno.test("sqlite: a lookup that met a newer commit halfway asks all its keys again", () =>
  withSource(async (source, writer) => {
    const first = "duid:00030001020000000a01";
    const second = "duid:00030001020000000a02";
    assert.equal(source.lookupOne(first), undefined); // a miss, kept
    assert.equal(source.lookupOne(`duid:${CLIENT_DUID_HEX}`)?.address, "2001:db8:1::10");
    await batchDone();
    assert.equal(source.lookupOne(`duid:${CLIENT_DUID_HEX}`)?.address, "2001:db8:1::10");
    // In the same batch, before the next request: another connection gives `first` a row.
    writer.prepare(
      "INSERT INTO assignments (id, address, prefix, csv_mtime) VALUES (?, ?, NULL, 0)",
    ).run(first, "2001:db8:1::a1");
    const generation = source.generation;
    // `first` comes from memory (older), `second` is read under the lock and shows the commit.
    assert.equal(source.lookup([first, second])?.address, "2001:db8:1::a1");
    assert.notEqual(source.generation, generation);
  }));

Deno.test("sqlite: in WAL mode, changes are used from the next batch on", () =>
  withSource(async (source, writer) => {
    const id = `duid:${CLIENT_DUID_HEX}`;
    writer.exec("PRAGMA journal_mode = WAL");
    for (const address of ["2001:db8:1::d1", "2001:db8:1::d2"]) {
      assert.equal(source.lookupOne(id)?.address, source.lookupOne(id)?.address);
      await batchDone();
      writer.prepare("UPDATE assignments SET address = ? WHERE id = ?").run(address, id);
      assert.equal(source.lookupOne(id)?.address, address);
      await batchDone();
    }
    writer.prepare("DELETE FROM assignments WHERE id = ?").run(id);
    assert.equal(source.lookupOne(id), undefined);
  }, {}));
