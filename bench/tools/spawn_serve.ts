/**
 * `dhcpkit serve CONFIG` of a checkout as a child process with the shipped executable's
 * permissions, output discarded: the servers the A/B benchmarks compare.
 * @module
 */

import { SERVER_PERMISSIONS } from "../../tests/helpers/server.ts";

/**
 * Start `ROOT/cli/main.ts serve CONF`; with `cpus` (a `taskset -c` list) every thread of the
 * server runs on those cores only (`taskset` execs the server, so the child's pid is the server's).
 */
export function spawnServe(root: string, conf: string, cpus?: string): Deno.ChildProcess {
  const serve = ["run", ...SERVER_PERMISSIONS, `${root}/cli/main.ts`, "serve", conf];
  return new Deno.Command(cpus === undefined ? Deno.execPath() : "taskset", {
    args: cpus === undefined ? serve : ["-c", cpus, Deno.execPath(), ...serve],
    stdout: "null",
    stderr: "null",
  }).spawn();
}
