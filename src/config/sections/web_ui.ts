/**
 * `<web-ui>`: the looking glass, a small read-only web site for the helpdesk (overview,
 * subscriber search, recent transactions, explain). Not part of the original DHCPKit.
 *
 * @module
 */

import { integer } from "../datatypes.ts";
import { existingFile } from "../datatypes.ts";
import { defineSection } from "../schema.ts";
import { bindAddress } from "./metrics.ts";

/** Values of `<web-ui>`. */
export interface WebUiValues {
  /** Address to listen on (an IPv6 or IPv4 literal). */
  address: string;
  /** TCP port to listen on. */
  port: number;
  /** File holding the access token, when one is required. */
  tokenFile?: string;
}

/** True for the loopback addresses (`::1`, `127.0.0.0/8`). */
export function isLoopbackAddress(address: string): boolean {
  return address === "::1" || /^127\./.test(address);
}

/** `<web-ui>` section. */
export const webUiSection = defineSection<WebUiValues>({
  type: "web-ui",
  kind: "web-ui",
  description: "Serve the looking glass: a read-only web site for the helpdesk, rendered on " +
    "the server and usable without JavaScript. `/` shows the server (DUID, version, uptime, " +
    "configuration file, last reload, listeners, workers), the same counters as " +
    "`dhcpkit ctl stats-json` and a chart of requests and replies per second over the last " +
    "15 minutes; `/subscribers?q=` finds a DUID, address, prefix, remote-id, interface-id or " +
    "subscriber-id in the static assignments (with file and line), the leasequery database and " +
    "the recent transactions; `/transactions` lists the most recent requests and what they " +
    "got; `/explain` shows how the running pipeline answers a request, like " +
    "`dhcpkit ctl explain`. Nothing on the site changes anything, and it never shows secrets.\n\n" +
    "On a loopback address the site is open to every local user. On any other address it " +
    "needs `token-file`: browsers then ask for a password (any user name) and tools send " +
    "`Authorization: Bearer TOKEN`.",
  example: ["<web-ui>", "    address ::1", "    port 8547", "</web-ui>"].join("\n"),
  keys: [
    {
      name: "address",
      type: bindAddress,
      default: "::1",
      description: "Address the site listens on; any address but a loopback one needs " +
        "`token-file`.",
      example: "2001:db8::10",
    },
    {
      name: "port",
      type: integer(1, 65535, "port"),
      default: 8547,
      description: "TCP port the site listens on.",
      example: "8547",
    },
    {
      name: "token-file",
      type: existingFile,
      description: "A file holding the access token (its first line; at least 16 characters). " +
        "It is read as root at start-up and reload, so it can be readable by root only.",
      example: "/etc/dhcpkit/web-ui.token",
    },
  ],
  validate: (section, check) => {
    const v = section.values;
    if (!isLoopbackAddress(v.address) && v.tokenFile === undefined) {
      check.error(
        `the web UI on ${v.address} (not a loopback address) needs a token-file`,
        section.keyLines["address"],
      );
    }
  },
});
