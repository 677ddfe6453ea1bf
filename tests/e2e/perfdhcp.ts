/**
 * perfdhcp as the e2e pool tests run it: 300 distinct clients on the namespace's `cli0`.
 * @module
 */

import type { Topology } from "./netns.ts";

/**
 * Run perfdhcp in `namespace` on `cli0` for 8 s: 300 clients (DUIDs from
 * 00030001000000000000), 100 exchanges per second, IA_NA only or with `addressAndPrefix` IA_PD
 * too. Its exit status is not checked: perfdhcp reports drops with a non-zero status.
 */
export function perfdhcp300(t: Topology, namespace: string, addressAndPrefix = false) {
  return t.exec(namespace, "perfdhcp", [
    "-6",
    "-l",
    "cli0",
    ...(addressAndPrefix ? ["-e", "address-and-prefix"] : []),
    "-b",
    "duid=00030001000000000000",
    "-b",
    "mac=02:00:00:00:00:00",
    "-R",
    "300",
    "-r",
    "100",
    "-p",
    "8",
    "-W",
    "500000",
  ], { check: false });
}
