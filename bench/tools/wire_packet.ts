/**
 * The received datagram the request-path benchmarks hand to an engine: a client's multicast
 * from 2001:db8:1::2 on eth0, link 2001:db8:1::1.
 * @module
 */

import type { WirePacket } from "../../src/server/wire.ts";

/** Datagram `n` carrying `data`, as an I/O worker hands it over. */
export function clientPacket(data: Uint8Array, n: number): WirePacket {
  return {
    id: "#" + n,
    listener: 0,
    data,
    source: "2001:db8:1::2",
    sourcePort: 546,
    interfaceName: "eth0",
    linkAddress: "2001:db8:1::1",
    multicast: true,
    marks: ["unmarked"],
  };
}
