/**
 * docs/examples/operator/pools.conf, as the operator guide shows it, answers relayed requests
 * from its link: a customer listed in assignments.csv gets its fixed address and prefix and no
 * pool lease; other customers get distinct leases from the pools, written to the lease store
 * before the Reply (in the group commit the shipped example uses); a request from another link
 * gets nothing from the pools.
 */

import assert from "node:assert/strict";
import { LinkLayerDuid, StatusCode } from "../../src/protocol/mod.ts";
import { SqliteLeaseStore } from "../../src/handlers/pools/sqlite.ts";
import { poolsExtension } from "../../src/handlers/pools/mod.ts";
import { iana, iapd, pipelineFromConfig } from "../pipeline/helpers.ts";
import { request } from "../handlers/static/fixtures.ts";
import { ask, firstAddress, firstPrefix, ianas, iapds } from "../handlers/pools/fixtures.ts";

const SERVER = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 1]));
const EXAMPLES = new URL("../../docs/examples/operator/", import.meta.url).pathname;

Deno.test("pools.conf: static customers keep their assignment, others get pool leases", async () => {
  const dir = Deno.makeTempDirSync({ prefix: "dhcpkit-pools-example-" });
  const store = `${dir}/leases.sqlite`;
  const text = Deno.readTextFileSync(`${EXAMPLES}pools.conf`)
    .replace("/var/lib/dhcpkit/leases.sqlite", store)
    .replace("<static-csv assignments.csv", `<static-csv ${EXAMPLES}assignments.csv`);
  assert.notEqual(text, Deno.readTextFileSync(`${EXAMPLES}pools.conf`));
  // With the pools extension's cleanup handler, as the server builds its pipeline.
  const pipeline = pipelineFromConfig(text, {
    cleanupHandlers: poolsExtension.cleanupHandlers!({ configDir: dir, serverDuid: SERVER }),
  });
  await pipeline.workerInit();
  const leases = new SqliteLeaseStore(store);
  try {
    const link = { linkAddress: "2001:db8:1:2::1" };
    const known = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 0, 0xaa]));
    const fixed = (await ask(pipeline, request(known, iana(1), iapd(2)), link))!;
    assert.equal(firstAddress(fixed), "2001:db8:100::aa");
    assert.equal(firstPrefix(fixed), "2001:db8:1aa::/48");
    assert.equal(leases.list({}).length, 0);

    const seen = new Set<string>();
    for (let n = 1; n <= 3; n++) {
      const duid = new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 1, n]));
      const reply = (await ask(pipeline, request(duid, iana(1), iapd(2)), link))!;
      const address = firstAddress(reply)!;
      const prefix = firstPrefix(reply)!;
      assert.match(address, /^2001:db8:1:2::1:[0-9a-f]{1,4}$/);
      assert.match(
        prefix,
        /^2001:db8:70[0-9a-f]{2}:[0-9a-f]{1,4}00::\/56$|^2001:db8:70[0-9a-f]{2}::\/56$/,
      );
      assert.equal(ianas(reply)[0].t, "900/1440");
      assert.deepEqual(iapds(reply)[0].prefixes, [`${prefix} 43200/86400`]);
      seen.add(address).add(prefix);
    }
    assert.equal(seen.size, 6);
    assert.equal(leases.list({}).length, 6);

    const elsewhere = (await ask(
      pipeline,
      request(new LinkLayerDuid(1, new Uint8Array([2, 0, 0, 0, 2, 1])), iana(1)),
      { linkAddress: "2001:db8:9::1" },
    ))!;
    assert.equal(ianas(elsewhere)[0].status, StatusCode.NoAddrsAvail);
  } finally {
    leases.close();
    await pipeline.close();
    Deno.removeSync(dir, { recursive: true });
  }
});
