/**
 * ISC `dhclient -6` in the end-to-end tests, started in a client namespace with our recorder
 * script and all its files in the test's temporary folder.
 * @module
 */

import type { ManagedProcess, Topology } from "./netns.ts";

/** The command a test needs to run dhclient, and its package (for `e2eTest`'s `commands`). */
export const DHCLIENT = { dhclient: "isc-dhcp-client" };

/**
 * Start `dhclient -6 FLAGS -d` on cli0 with configuration `conf`, our recorder script and its
 * files in the temporary folder; resolves with the process and the folder the script records
 * into.
 */
export async function startDhclient(
  t: Topology,
  cli: string,
  flags: string[],
  name: string,
  conf = "\n",
): Promise<{ client: ManagedProcess; dir: string }> {
  const { script, dir } = await t.recorderScript(name);
  const confPath = t.path(`${name}.conf`);
  await Deno.writeTextFile(confPath, conf);
  const client = t.spawn(cli, "dhclient", [
    "-6",
    ...flags,
    "-d",
    "-v",
    "-cf",
    confPath,
    "-sf",
    script,
    "-lf",
    t.path(`${name}.leases`),
    "-pf",
    t.path(`${name}.pid`),
    "cli0",
  ], `dhclient ${flags.join(" ")}`);
  return { client, dir };
}
