/**
 * Leasequery answers for pool leases as for static ones: the `<leasequery>` handler records the
 * leases of outgoing replies, so an address and a prefix from the pools are found by address
 * and by client id. (A released lease is forgotten: tests/ops/pools_leasequery_release_test.ts.)
 */

import assert from "node:assert/strict";
import {
  ClientDataOption,
  ClientIdOption,
  IAAddressOption,
  IAPrefixOption,
  QUERY_BY_ADDRESS,
  QUERY_BY_CLIENTID,
} from "../../../src/protocol/mod.ts";
import {
  leasequeryCleanupHandlers,
  leasequerySetupHandlers,
} from "../../../src/handlers/leasequery/handler.ts";
import { iana, iapd, run } from "../../pipeline/helpers.ts";
import { request } from "../static/fixtures.ts";
import { leasequery } from "../../leasequery/lq_helpers.ts";
import { client, firstAddress, firstPrefix, poolPipeline } from "./fixtures.ts";

Deno.test("leasequery finds pool leases by address and by client id", async () => {
  const p = await poolPipeline(
    `
<lease-store-sqlite STORE>
    group-commit no
</lease-store-sqlite>
<address-pool 2001:db8:1::/120 />
<prefix-pool 2001:db8:200::/40>
    delegated-length 56
</prefix-pool>
<leasequery>
    <lq-sqlite STORE.lq />
</leasequery>
`,
    { setupHandlers: leasequerySetupHandlers(), cleanupHandlers: leasequeryCleanupHandlers() },
  );
  try {
    const duid = client(1);
    const reply = run(p.pipeline, request(duid, iana(1), iapd(2))).reply!;
    const address = firstAddress(reply)!;
    const prefix = firstPrefix(reply)!;

    const byAddress = run(
      p.pipeline,
      leasequery(QUERY_BY_ADDRESS, "::", [new IAAddressOption(address, 0, 0)]),
    ).reply!;
    const data = byAddress.getOption(ClientDataOption);
    assert.ok(data, "the address is known");
    const id = data.options.find((o) => o instanceof ClientIdOption) as ClientIdOption;
    assert.equal(id?.duid.toHex(), duid.toHex());
    const addresses = data.options.filter((o) => o instanceof IAAddressOption)
      .map((o) => (o as IAAddressOption).address);
    assert.deepEqual(addresses, [address]);

    const byClient = run(
      p.pipeline,
      leasequery(QUERY_BY_CLIENTID, "::", [new ClientIdOption(duid)]),
    ).reply!;
    const prefixes = byClient.getOption(ClientDataOption)!.options
      .filter((o) => o instanceof IAPrefixOption)
      .map((o) => `${(o as IAPrefixOption).prefix}/${(o as IAPrefixOption).prefixLength}`);
    assert.deepEqual(prefixes, [prefix]);
  } finally {
    await p.cleanup();
  }
});
