/**
 * The client side of the fault-injection extension (mod.ts): relayed Information-requests by
 * transaction id, and the effective uid each spy answer reports.
 * @module
 */

import { lookupAnswer, lookupRequest } from "../slow_lookup/client.ts";
import { euidOf } from "./mod.ts";

/** A relayed Information-request with transaction id `xid` (the slow-lookup tests' request). */
export function faultRequest(xid: number): Uint8Array {
  return lookupRequest(xid);
}

/** A client that sends requests by transaction id and records the euid each answer reports. */
export class SpyClient {
  readonly #socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  /** The euid reported, by transaction id. */
  readonly answers = new Map<number, number | undefined>();
  #receiving?: Promise<void>;

  /** Talk to [::1]:port. */
  constructor(readonly port: number) {}

  /** Send transaction ids `xids` (in groups of 50, so no socket buffer overflows). */
  async send(xids: Iterable<number>): Promise<void> {
    this.#receiving ??= this.#receive();
    let n = 0;
    for (const xid of xids) {
      if (++n % 50 === 0) await new Promise((r) => setTimeout(r, 5));
      await this.#socket.send(faultRequest(xid), {
        transport: "udp",
        hostname: "::1",
        port: this.port,
      });
    }
  }

  async #receive(): Promise<void> {
    try {
      while (true) {
        const [data] = await this.#socket.receive();
        const { xid, dns } = lookupAnswer(data);
        this.answers.set(xid, euidOf(dns));
      }
    } catch {
      // closed
    }
  }

  /** Of transaction ids `from`..`to` (inclusive), those not answered. */
  missing(from: number, to: number): number[] {
    const out: number[] = [];
    for (let x = from; x <= to; x++) if (!this.answers.has(x)) out.push(x);
    return out;
  }

  /** Close the socket. */
  close(): void {
    this.#socket.close();
  }
}
