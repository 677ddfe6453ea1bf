/** The SQLite lease store on its own: housekeeping is claimed by one connection per interval. */

import assert from "node:assert/strict";
import { SqliteLeaseStore } from "../../../src/handlers/pools/sqlite.ts";

Deno.test("housekeeping: one of the workers' connections per interval", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-store-" });
  const a = new SqliteLeaseStore(`${dir}/leases.sqlite`);
  const b = new SqliteLeaseStore(`${dir}/leases.sqlite`);
  try {
    const now = 1_800_000_000;
    assert.equal(a.claimHousekeeping(now, 60), true);
    assert.equal(b.claimHousekeeping(now, 60), false);
    assert.equal(a.claimHousekeeping(now + 30, 60), false);
    assert.equal(b.claimHousekeeping(now + 59, 60), true);
    assert.equal(a.claimHousekeeping(now + 60, 60), false);
    assert.equal(a.claimHousekeeping(now + 118, 60), true);
  } finally {
    a.close();
    b.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
