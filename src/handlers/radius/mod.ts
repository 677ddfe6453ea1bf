/**
 * The RADIUS assignments extension: `<radius-assignments>` asks the subscriber database of the
 * access network, over RADIUS, which address, prefix and DNS servers a client gets.
 * @module
 */

import { defineExtension, handlerFor } from "../extension.ts";
import { RadiusAssignmentHandler } from "./handler.ts";
import { radiusAssignmentsSection } from "./section.ts";
import { RADIUS_STATISTICS } from "./stats.ts";

/** The RADIUS assignments handler. */
export const radiusExtension = defineExtension({
  name: "radius",
  statistics: RADIUS_STATISTICS,
  handlers: [
    handlerFor(radiusAssignmentsSection, (v) =>
      new RadiusAssignmentHandler({
        servers: v.servers,
        secret: v.secretFile !== undefined ? { file: v.secretFile } : { text: v.secret! },
        userName: v.userName,
        password: v.password,
        timeout: v.timeout,
        retries: v.retries,
        deadTime: v.deadTime,
        cacheTtl: v.cacheTtl,
        cacheSize: v.cacheSize,
        requireMessageAuthenticator: v.requireMessageAuthenticator,
        nasIdentifier: v.nasIdentifier,
        nasAddress: v.nasAddress,
        lifetimes: {
          addressPreferredLifetime: v.addressPreferredLifetime,
          addressValidLifetime: v.addressValidLifetime,
          prefixPreferredLifetime: v.prefixPreferredLifetime,
          prefixValidLifetime: v.prefixValidLifetime,
        },
      })),
  ],
});
