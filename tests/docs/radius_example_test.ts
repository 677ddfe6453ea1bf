/**
 * The operator guide's RADIUS example, run for real (root only): `radius.conf` as shipped (see
 * `example_server.ts` for the mechanical adaptation) in a server namespace with the example's
 * address, and a real FreeRADIUS 3 with the guide's users file (`radius-users`) and clients entry
 * (`radius-clients`, with the secret of `radius-secret`) on the example's first RADIUS server
 * address, in the relay's namespace (another host, as in production: the requests come from the
 * server's address the clients entry names). Relayed Solicits of the three subscriber lines get
 * what the users file says: everything (lifetimes capped by Session-Timeout), only a prefix,
 * and a reject.
 * @module
 */

import assert from "node:assert/strict";
import { e2eTest, withTopology } from "../e2e/netns.ts";
import { LOOKUPS_MISSING } from "../handlers/radius/helpers.ts";
import { FreeRadius, freeRadiusSkipReason } from "../helpers/freeradius.ts";
import {
  addressesIn,
  dnsServers,
  iaStatus,
  lifetimesIn,
  onlyReply,
  prefixesIn,
  relayed,
  sendCases,
  startExample,
  unicastTopology,
} from "./example_server.ts";

const SERVER = "2001:db8:ffff::547";
const RELAY = "2001:db8:ffff::1";
/** The first `server` of radius.conf. */
const RADIUS = "2001:db8:ffff::1812";
const EXAMPLES = new URL("../../docs/examples/operator/", import.meta.url).pathname;

const skip = freeRadiusSkipReason() ?? LOOKUPS_MISSING;
const name = "docs example radius.conf: FreeRADIUS with the guide's users file assigns per line";
if (skip) {
  console.log(`note: skipping "${name}": ${skip}`);
  Deno.test({ name, ignore: true, fn: () => {} });
} else {
  e2eTest(name, { root: true, scapy: true }, () =>
    withTopology(async (t) => {
      const { srv, rly } = await unicastTopology(t, SERVER, RELAY);
      await t.address(rly, "rly0", `${RADIUS}/64`);
      await t.settled(rly, "rly0");
      await using radius = await FreeRadius.start({
        namespace: rly,
        address: RADIUS,
        port: 1812,
        users: await Deno.readTextFile(`${EXAMPLES}/radius-users`),
        clients: await Deno.readTextFile(`${EXAMPLES}/radius-clients`),
      });
      try {
        await startExample(t, "docs/examples/operator/radius.conf", { namespace: srv });
        const link = "2001:db8:100:7::1";
        const replies = await sendCases(t, rly, [
          relayed("modem-0042", SERVER, "solicit", link, {
            mac: "02:00:00:00:00:42",
            relay: { remote_id: "modem-0042" },
          }),
          relayed("interface", SERVER, "solicit", link, {
            mac: "02:00:00:00:00:43",
            relay: { interface_id: "ge-0/0/1.100" },
          }),
          relayed("modem-0666", SERVER, "solicit", link, {
            mac: "02:00:00:00:00:66",
            relay: { remote_id: "modem-0666" },
          }),
        ]);
        const full = onlyReply(replies, "modem-0042");
        assert.deepEqual(addressesIn(full), ["2001:db8:100::42"]);
        assert.deepEqual(prefixesIn(full), ["2001:db8:142::/48"]);
        assert.deepEqual(dnsServers(full), ["2001:db8:ffff::53"]);
        // Session-Timeout 86400 caps 7d and 30d; the preferred lifetimes follow.
        assert.deepEqual(lifetimesIn(full, 3), [[86400, 86400]]);
        assert.deepEqual(lifetimesIn(full, 25), [[86400, 86400]]);

        const prefixOnly = onlyReply(replies, "interface");
        assert.deepEqual(prefixesIn(prefixOnly), ["2001:db8:1ff::/48"]);
        assert.deepEqual(lifetimesIn(prefixOnly, 25), [[259200, 2592000]], "3d / 30d");
        assert.deepEqual(iaStatus(prefixOnly, 3), 2, "NoAddrsAvail");

        const rejected = onlyReply(replies, "modem-0666");
        assert.deepEqual(iaStatus(rejected, 3), 2, "NoAddrsAvail");
        assert.deepEqual(iaStatus(rejected, 25), 6, "NoPrefixAvail");
      } catch (error) {
        console.error(`FreeRADIUS output:\n${radius.output.slice(-4000)}`);
        throw error;
      }
    }));
}
