/**
 * Runtime implementations of the built-in handler and filter section types. Importing this
 * module registers every factory with the handler registry.
 * @module
 */

import * as dns from "./dns/handler.ts";
import * as dslite from "./dslite/handler.ts";
import * as filters from "./filters/handler.ts";
import * as ignore from "./ignore/handler.ts";
import "./leasequery/handler.ts"; // registers <leasequery> and <lq-sqlite> when imported
import * as map from "./map/handler.ts";
import * as maxRt from "./max_rt/handler.ts";
import * as ntp from "./ntp/handler.ts";
import * as preference from "./preference/handler.ts";
import "./rate_limit/handler.ts"; // registers <rate-limit> when imported
import * as relayCopy from "./relay_copy/handler.ts";
import * as sip from "./sip/handler.ts";
import * as sntp from "./sntp/handler.ts";
import * as staticAssignments from "./static/handler.ts";
import * as timing from "./timing/handler.ts";
import * as unicast from "./unicast/handler.ts";

/** Register the factories of every built-in handler and filter (idempotent). */
export function registerBuiltinHandlers(): void {
  for (
    const extension of [
      filters,
      dns,
      dslite,
      ignore,
      map,
      maxRt,
      ntp,
      preference,
      relayCopy,
      sip,
      sntp,
      staticAssignments,
      timing,
      unicast,
    ]
  ) extension.register();
}

registerBuiltinHandlers();
