/**
 * `dhcpkit leasequery --server` tells multicast and link-scoped addresses by their bytes, not by
 * how they are spelt: `ff::1` (0ff::1) is unicast, `fe81::1` is link-local like `fe80::1` and
 * gets the interface as its zone.
 */

import assert from "node:assert/strict";
import { runCli } from "./helpers.ts";

/** A TCP leasequery to `server` port 1 on `lo`, which nothing answers. */
function tcpQuery(server: string) {
  return runCli([
    "leasequery",
    "--tcp",
    "--server",
    server,
    "--interface",
    "lo",
    "-p",
    "1",
    "-w",
    "1",
    "client-id",
    "0003000102",
  ]);
}

Deno.test("leasequery: ff::1 is a unicast server address", async () => {
  const r = await tcpQuery("ff::1");
  assert.doesNotMatch(r.stderr, /needs a unicast/);
  assert.equal(r.code, 1, r.stderr);
});

Deno.test("leasequery: every fe80::/10 server address gets the interface as its zone", async () => {
  const scoped = await tcpQuery("fe80::1");
  const other = await tcpQuery("fe81::1");
  assert.equal(other.code, 1, other.stderr);
  assert.equal(other.stderr, scoped.stderr);
});
