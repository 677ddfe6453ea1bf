/**
 * The host's network interfaces, for the server: listed by the configuration layer's
 * `host_interfaces.ts` (the one place that lists them), re-exported here for the server modules.
 * @module
 */

export {
  type HostInterface,
  hostInterfaces,
  isGlobalUnicast,
  isLinkLocal,
} from "../config/host_interfaces.ts";
