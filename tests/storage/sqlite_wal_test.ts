import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { enableWal, isBusyError } from "../../src/handlers/sqlite_wal.ts";

/**
 * Two workers open the same new database file at the same instant, many times: SQLite refuses
 * one of the two WAL switches at once ("database is locked", no busy wait), which kept a server
 * with two workers from starting now and then. Every open must succeed.
 */
async function openTogether(kind: "pools" | "leasequery", rounds: number): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "dhcpkit-wal-" });
  const workers = [0, 1].map(() =>
    new Worker(new URL("./helpers/open_store_worker.ts", import.meta.url), { type: "module" })
  );
  const failures: string[] = [];
  try {
    for (let i = 0; i < rounds; i++) {
      const path = `${dir}/round-${i}.sqlite`;
      const gate = new SharedArrayBuffer(4);
      const answers = await Promise.all(workers.map((w) =>
        new Promise<string>((resolve) => {
          w.onmessage = (e) => resolve(e.data);
          w.postMessage({ kind, path, gate });
        })
      ));
      for (const a of answers) if (a !== "ok") failures.push(`round ${i}: ${a}`);
    }
  } finally {
    for (const w of workers) w.terminate();
    await Deno.remove(dir, { recursive: true });
  }
  return failures;
}

Deno.test("pool lease stores: two workers creating the database at once both open it", async () => {
  assert.deepEqual(await openTogether("pools", 100), []);
});

Deno.test("leasequery stores: two workers creating the database at once both open it", async () => {
  assert.deepEqual(await openTogether("leasequery", 100), []);
});

Deno.test("enableWal gives up after its time with SQLite's error; other errors at once", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-wal-" });
  const holder = new DatabaseSync(`${dir}/held.sqlite`);
  const other = new DatabaseSync(`${dir}/held.sqlite`);
  try {
    holder.exec("CREATE TABLE t (a)");
    holder.exec("BEGIN EXCLUSIVE");
    other.exec("PRAGMA busy_timeout = 0");
    const started = Date.now();
    assert.throws(() => enableWal(other, 60), (e) => isBusyError(e));
    assert.ok(Date.now() - started >= 60, "it waited its time before giving up");
    holder.exec("COMMIT");
    enableWal(other, 60);
    assert.equal(other.prepare("PRAGMA journal_mode").get()?.journal_mode, "wal");
    other.close();
    const closed = new DatabaseSync(":memory:");
    closed.close();
    const t0 = Date.now();
    assert.throws(() => enableWal(closed, 5000), (e) => !isBusyError(e));
    assert.ok(Date.now() - t0 < 1000, "not a lock: no waiting");
  } finally {
    holder.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
