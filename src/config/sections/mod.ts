/**
 * Registration of the core (non-handler) section types and of their kinds. Kinds of extensions
 * (leasequery stores, MAP rules) are described by the extensions themselves.
 *
 * @module
 */

import type { SchemaRegistry } from "../schema.ts";
import { duidEnSection, duidLlSection, duidLltSection, duidUuidSection } from "./duid.ts";
import { listenInterfaceSection, listenTcpSection, listenUnicastSection } from "./listeners.ts";
import { consoleSection, fileSection, loggingSection, syslogSection } from "./logging.ts";
import { serverSection } from "./server.ts";
import { statisticsSection } from "./statistics.ts";
import { metricsSection } from "./metrics.ts";
import { webUiSection } from "./web_ui.ts";

/** The core section types, in documentation order. */
export const coreSections = [
  serverSection,
  loggingSection,
  consoleSection,
  fileSection,
  syslogSection,
  statisticsSection,
  duidEnSection,
  duidLlSection,
  duidLltSection,
  duidUuidSection,
  listenInterfaceSection,
  listenUnicastSection,
  listenTcpSection,
  metricsSection,
  webUiSection,
] as const;

/** Describe the built-in section kinds and register the core section types (idempotent). */
export function registerCoreSections(registry: SchemaRegistry): void {
  registry.registerKind("root", {
    title: "Server settings",
    description: "Keys at the top level of the configuration file.",
  });
  registry.registerKind("logging", {
    title: "Logging",
    description: "The `<logging>` section, which holds the log handlers.",
  });
  registry.registerKind("log-handler", {
    title: "Log handlers",
    description: "Destinations for log messages; they go inside `<logging>`.",
  });
  registry.registerKind("statistics", {
    title: "Statistics",
    description: "Extra statistics categories.",
  });
  registry.registerKind("duid", {
    title: "DUIDs",
    description: "DHCP Unique Identifiers. At the top level, named `server-id` (or unnamed), a " +
      "DUID section sets the identifier the server uses; at most one is allowed. Without one the " +
      "server derives a DUID-LL from the first Ethernet interface it finds.",
  });
  registry.registerKind("listener", {
    title: "Listeners",
    description: "Where requests come in: a multicast group on a local interface, a unicast " +
      "address for relays, or a TCP address for bulk leasequery.",
  });
  registry.registerKind("filter", {
    title: "Filters",
    description: "A filter applies the filters and handlers inside it only to requests that " +
      "match its condition. Filters nest; handlers of inner filters run before those of the " +
      "outer ones.",
  });
  registry.registerKind("handler", {
    title: "Handlers",
    description: "Handlers build the response: they add options, assign addresses and " +
      "prefixes, or decide not to answer at all. They can appear at the top level or inside " +
      "filters.",
  });
  registry.registerKind("metrics", {
    title: "Metrics",
    description: "The optional `<metrics>` section: statistics over HTTP for Prometheus.",
  });
  registry.registerKind("web-ui", {
    title: "Looking glass",
    description: "The optional `<web-ui>` section: a read-only web site for the helpdesk.",
  });
  for (const spec of coreSections) registry.register(spec);
}
