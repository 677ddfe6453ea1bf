/**
 * The client side of the fault-injection extension (mod.ts): relayed Information-requests by
 * transaction id, and the effective uid each spy answer reports.
 * @module
 */

import { LookupClients, lookupRequest } from "../slow_lookup/client.ts";
import { euidOf } from "./mod.ts";

/** A relayed Information-request with transaction id `xid` (the slow-lookup tests' request). */
export function faultRequest(xid: number): Uint8Array {
  return lookupRequest(xid);
}

/** A client that sends requests by transaction id and records the euid each answer reports. */
export class SpyClient extends LookupClients<number | undefined> {
  /** Talk to [::1]:port. */
  constructor(port: number) {
    super(port, euidOf);
  }
}
