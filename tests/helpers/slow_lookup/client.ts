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
