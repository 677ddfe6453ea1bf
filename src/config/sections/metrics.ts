/**
 * `<metrics>`: an HTTP endpoint serving the statistics in the Prometheus / OpenMetrics text
 * format on `/metrics`. Not part of the original DHCPKit.
 *
 * @module
 */

import { isIPv6, normalizeIPv6 } from "../../protocol/mod.ts";
import { type DataType, dataType, integer } from "../datatypes.ts";
import { defineSection } from "../schema.ts";
import { ConfigValueError } from "../errors.ts";

/** Values of `<metrics>`. */
export interface MetricsValues {
  /** Address to listen on (an IPv6 or IPv4 literal). */
  address: string;
  /** TCP port to listen on. */
  port: number;
}

/** An IPv6 or IPv4 address literal to bind to. */
export const bindAddress: DataType<string> = dataType("IP address", (t) => {
  if (isIPv6(t)) return normalizeIPv6(t);
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(t);
  if (m && m.slice(1).every((p) => Number(p) <= 255)) return m.slice(1).map(Number).join(".");
  throw new ConfigValueError(`\`${t}\` is not an IPv6 or IPv4 address`, false);
}, "an IPv6 or IPv4 address");

/** `<metrics>` section. */
export const metricsSection = defineSection<MetricsValues>({
  type: "metrics",
  kind: "metrics",
  description: "Serve the server's statistics over HTTP on `/metrics`, in the Prometheus text " +
    "format (or OpenMetrics when the scraper asks for it), and answer `/healthz` (200 while " +
    "serving) and `/ready` (200 once the listeners and handlers are up). Every counter of " +
    "`dhcpkit ctl stats` is there, named after Kea's statistics where Kea has an equivalent " +
    "(`dhcpkit_pkt6_received_total`, ...), with the scope (`global`, `interface`, `subnet`, " +
    "`relay`) and the message type as labels; also a request-handling latency histogram, the " +
    "static assignments loaded per source, the outcome of the last reload and the process's " +
    "start time and memory. The operator guide's Monitoring section lists them. The endpoint " +
    "has no authentication: bind it to a loopback or management address.",
  example: ["<metrics>", "    address ::1", "    port 9547", "</metrics>"].join("\n"),
  keys: [
    {
      name: "address",
      type: bindAddress,
      default: "::1",
      description: "Address the HTTP endpoint listens on; `::` listens on every address.",
      example: "2001:db8::10",
    },
    {
      name: "port",
      type: integer(1, 65535, "port"),
      default: 9547,
      description: "TCP port the HTTP endpoint listens on.",
      example: "9547",
    },
  ],
});
