/**
 * The bad-data guard of static sources at engine level (what every worker runs at start and
 * reload): SQLite databases that are damaged, empty or shrunk by more than `max-row-loss`
 * compared with the table in use are refused while the engine in use keeps answering; a refused
 * build leaves nothing registered; echoed values are cut short.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { Engine, loadServerConfig } from "../../../src/server/engine.ts";
import { type IAAddressOption, IANAOption } from "../../../src/protocol/mod.ts";
import { canonicalId, QUOTED_CHARS } from "../../../src/handlers/static/ids.ts";
import { loadCsvAssignments } from "../../../src/handlers/static/csv/mod.ts";
import { rowsInUse } from "../../../src/handlers/static/row_guard.ts";
import { CLIENT_DUID, iana, run, SERVER_DUID } from "../../pipeline/helpers.ts";
import { CLIENT_DUID_HEX, solicit, tempDir } from "./fixtures.ts";

function fill(path: string, n: number, withClient = true): void {
  const db = new DatabaseSync(path);
  db.exec(
    "CREATE TABLE IF NOT EXISTS assignments (id TEXT PRIMARY KEY, address TEXT, prefix TEXT)",
  );
  db.exec("DELETE FROM assignments");
  const insert = db.prepare("INSERT INTO assignments VALUES (?, ?, ?)");
  db.exec("BEGIN");
  if (withClient) insert.run(`duid:${CLIENT_DUID_HEX}`, "2001:db8::1", null);
  for (let i = 1; i < n; i++) {
    insert.run(
      `subscriber-id:${i.toString(16).padStart(8, "0")}`,
      `2001:db8::1:${i.toString(16)}`,
      null,
    );
  }
  db.exec("COMMIT");
  db.close();
}

/**
 * The address the engine gives; waits until the lookup's read transaction (one per batch, ended
 * by a microtask) is over, so that the test may rewrite the file next.
 */
async function ask(e: Engine): Promise<string> {
  const address = (run(e.handler, solicit(CLIENT_DUID, iana(1))).reply!.getOption(IANAOption)!
    .options[0] as IAAddressOption).address;
  await null;
  return address;
}

Deno.test("SQLite: an emptied, shrunken or damaged database is refused; the engine in use answers", async () => {
  const { dir, cleanup } = tempDir();
  try {
    const db = `${dir}/a.sqlite`;
    const conf = `${dir}/dhcpkit.conf`;
    Deno.writeTextFileSync(conf, `<static-sqlite a.sqlite>\n</static-sqlite>\n`);
    const config = loadServerConfig(conf, undefined, false);
    fill(db, 0, false);
    await assert.rejects(Engine.create(config, SERVER_DUID), /a\.sqlite: no usable assignments/);
    assert.equal(rowsInUse(db), 0, "a refused build registers nothing");
    fill(db, 1000);
    const engine = await Engine.create(config, SERVER_DUID);
    assert.equal(rowsInUse(db), 1000);
    assert.equal(await ask(engine), "2001:db8::1");
    // A rebuild that lost 60 % of the rows: the reload's engine is refused.
    fill(db, 400);
    await assert.rejects(
      Engine.create(config, SERVER_DUID),
      /a\.sqlite: 400 usable assignments where the table in use has 1000/,
    );
    assert.equal(await ask(engine), "2001:db8::1");
    // Cut in half on disk: damaged.
    fill(db, 1000);
    const whole = Deno.readFileSync(db);
    Deno.writeFileSync(db, whole.subarray(0, whole.length >> 1));
    await assert.rejects(Engine.create(config, SERVER_DUID), /a\.sqlite: .*malformed/);
    Deno.writeFileSync(db, whole);
    // 25 % fewer rows is within max-row-loss.
    fill(db, 750);
    const next = await Engine.create(config, SERVER_DUID);
    await engine.handler.close();
    assert.equal(rowsInUse(db), 750, "the closed engine's table is no longer the reference");
    assert.equal(await ask(next), "2001:db8::1");
    await next.handler.close();
    assert.equal(rowsInUse(db), 0);
  } finally {
    cleanup();
  }
});

Deno.test("bad data: values echoed in problems are cut to a short length", async () => {
  const huge = "z".repeat(50_000);
  assert.throws(() => canonicalId(`duid:${huge}`), (e: Error) => {
    assert.ok(e.message.length < QUOTED_CHARS + 100, e.message);
    assert.match(e.message, /\(50000 characters\)/);
    return true;
  });
  const { dir, cleanup } = tempDir();
  try {
    const path = `${dir}/a.csv`;
    Deno.writeTextFileSync(
      path,
      `id,address,prefix\nduid:${CLIENT_DUID_HEX},2001:db8::1,\nduid:${CLIENT_DUID_HEX}0,${huge},\n`,
    );
    const { problems } = await loadCsvAssignments(path);
    assert.equal(problems.length, 1);
    assert.ok(problems[0].message.length < 200, problems[0].message);
  } finally {
    cleanup();
  }
});
