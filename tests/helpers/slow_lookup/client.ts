/**
 * The client side of the slow-lookup tests and benchmark: relayed Information-requests from
 * numbered clients (transaction id = client number), and what their answers say.
 * @module
 */

import {
  ClientIdOption,
  ElapsedTimeOption,
  InformationRequestMessage,
  LinkLayerDuid,
  OptionRequestOption,
  parseMessage,
  RecursiveNameServersOption,
  RelayForwardMessage,
  RelayMessageOption,
  type RelayReplyMessage,
  RelaySourcePortOption,
  serializeMessage,
} from "../../../src/protocol/mod.ts";

/** The DUID of client `n`. */
export function clientDuid(n: number): LinkLayerDuid {
  return new LinkLayerDuid(1, new Uint8Array([2, 0, 0, (n >> 16) & 255, (n >> 8) & 255, n & 255]));
}

/** Client `n`'s Information-request asking for DNS servers, relayed with Relay Source Port. */
export function lookupRequest(n: number): Uint8Array {
  const request = new InformationRequestMessage(n & 0xffffff, [
    new ClientIdOption(clientDuid(n)),
    new ElapsedTimeOption(0),
    new OptionRequestOption([23]),
  ]);
  return serializeMessage(
    new RelayForwardMessage(0, "2001:db8::1", "fe80::1", [
      new RelaySourcePortOption(0),
      new RelayMessageOption(request),
    ]),
  );
}

/** The transaction id and DNS servers of a relayed answer. */
export function lookupAnswer(data: Uint8Array): { xid: number; dns: string[] } {
  const relay = parseMessage(data) as RelayReplyMessage;
  const reply = relay.getOption(RelayMessageOption)!.message as InformationRequestMessage;
  const dns = reply.getOption(RecursiveNameServersOption)?.addresses ?? [];
  return { xid: reply.transactionId, dns };
}

/**
 * Relayed Information-requests ({@link lookupRequest}) to `[::1]:port`, sent by transaction id;
 * each answer's DNS servers are kept as `read` makes them, by transaction id.
 */
export class LookupClients<T> {
  readonly #socket = Deno.listenDatagram({ transport: "udp", hostname: "::1", port: 0 });
  /** What each answer said, by transaction id. */
  readonly answers = new Map<number, T>();
  #receiving?: Promise<void>;

  /** Talk to [::1]:port; `read` turns an answer's DNS servers into what is kept. */
  constructor(readonly port: number, readonly read: (dns: string[]) => T) {}

  /** Send transaction ids `xids`, in groups of 50 (a larger burst overflows a socket buffer). */
  async send(xids: Iterable<number>): Promise<void> {
    this.#receiving ??= this.#receive();
    let n = 0;
    for (const xid of xids) {
      if (n++ > 0 && n % 50 === 1) await new Promise((r) => setTimeout(r, 5));
      await this.#socket.send(lookupRequest(xid), {
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
        this.answers.set(xid, this.read(dns));
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

/** `first`, `first + 1`, ... `first + count - 1`. */
export function clientRange(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}
