/**
 * `dhcpkit serve CONFIG` of a checkout as a child process with the shipped executable's
 * permissions, output discarded: the servers the A/B benchmarks compare.
 * @module
 */

import { SERVER_PERMISSIONS } from "../../tests/helpers/server.ts";

/** Start `ROOT/cli/main.ts serve CONF`. */
export function spawnServe(root: string, conf: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...SERVER_PERMISSIONS, `${root}/cli/main.ts`, "serve", conf],
    stdout: "null",
    stderr: "null",
  }).spawn();
}
