/**
 * `dhcpkit leases`: lists and searches a real lease store written by the pools, as text lines
 * and JSON lines; `delete` frees leases; mistakes are one line with exit status 2 (arguments) or
 * 1 (store); a missing store is never created.
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { Pool } from "../../../src/handlers/pools/pool.ts";
import { SqliteLeaseStore } from "../../../src/handlers/pools/sqlite.ts";
import { unixNow } from "../../../src/handlers/pools/store.ts";
import { IPv6Prefix } from "../../../src/protocol/mod.ts";
import { assertOneLineError, runCli } from "../../cli/helpers.ts";

const na = new Pool({
  type: "na",
  prefix: IPv6Prefix.parse("2001:db8:1::/120"),
  delegatedLength: 128,
  preferredLifetime: 1800,
  validLifetime: 3600,
  declineProbation: 86400,
});
const pd = new Pool({
  type: "pd",
  prefix: IPv6Prefix.parse("2001:db8:100::/40"),
  delegatedLength: 56,
  preferredLifetime: 1800,
  validLifetime: 3600,
  declineProbation: 86400,
});

const DUID_A = "000300010200000000aa";
const DUID_B = "000300010200000000bb";

Deno.test("dhcpkit leases: list, search, JSON, delete", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-leases-cli-" });
  const path = `${dir}/leases.sqlite`;
  const store = new SqliteLeaseStore(path);
  const now = unixNow();
  store.apply([
    { kind: "commit", pool: na, duid: DUID_A, iaid: 1, named: [5] },
    { kind: "commit", pool: pd, duid: DUID_A, iaid: 2, named: [3] },
    { kind: "commit", pool: na, duid: DUID_B, iaid: 1, named: [6] },
  ], now);
  store.close();
  try {
    const all = await runCli(["leases", "--store", path]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3);
    assert.match(
      lines[0],
      /^na {2}2001:db8:1::5 {2}assigned {2}\S+Z {2}000300010200000000aa {2}1 {2}na 2001:db8:1::\/120$/,
    );

    const json = await runCli([
      "leases",
      "--store",
      path,
      "--json",
      "--duid",
      DUID_A.toUpperCase(),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const objects = json.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(objects.map((o) => [o.type, o.address ?? o.prefix, o.iaid, o.state]), [
      ["na", "2001:db8:1::5", 1, "assigned"],
      ["pd", "2001:db8:100:300::/56", 2, "assigned"],
    ]);
    assert.equal(objects[0].duid, DUID_A);
    assert.equal(objects[0].valid_until, new Date((now + 3600) * 1000).toISOString());

    const byAddress = await runCli(["leases", "--store", path, "--address", "2001:DB8:1:0::6"]);
    assert.match(byAddress.stdout, /^na {2}2001:db8:1::6 .*000300010200000000bb/);
    assert.equal(byAddress.stdout.trimEnd().split("\n").length, 1);
    const byPrefix = await runCli(["leases", "--store", path, "--prefix", "2001:db8:100::/48"]);
    assert.match(byPrefix.stdout, /^pd {2}2001:db8:100:300::\/56 /);
    const none = await runCli(["leases", "--store", path, "--prefix", "2001:db8:101::/48"]);
    assert.equal(none.stdout, "");

    const del = await runCli(["leases", "--store", path, "delete", "--duid", DUID_A]);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, "deleted 2 leases\n");
    const left = await runCli(["leases", "--store", path, "--json"]);
    assert.deepEqual(
      left.stdout.trimEnd().split("\n").map((l) => JSON.parse(l).duid),
      [DUID_B],
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("dhcpkit leases: mistakes are one line; a missing store is not created", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-leases-cli-" });
  try {
    const missing = `${dir}/none.sqlite`;
    const r = await runCli(["leases", "--store", missing]);
    assert.match(assertOneLineError(r, "leases", 1), /no such lease store/);
    assert.equal(existsSync(missing), false);
    assertOneLineError(await runCli(["leases"]), "leases", 2);
    assertOneLineError(
      await runCli(["leases", "--store", missing, "delete"]),
      "leases",
      2,
    );
    assertOneLineError(
      await runCli(["leases", "--store", missing, "--duid", "xyz"]),
      "leases",
      2,
    );
    assertOneLineError(
      await runCli(["leases", "--store", missing, "--address", "1::", "--duid", "01"]),
      "leases",
      2,
    );
    const notStore = `${dir}/other.sqlite`;
    Deno.writeTextFileSync(notStore, "not a database");
    const bad = await runCli(["leases", "--store", notStore]);
    assert.match(assertOneLineError(bad, "leases", 1), /not a usable lease store/);
    assert.equal(Deno.readTextFileSync(notStore), "not a database");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
