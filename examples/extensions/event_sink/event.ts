/**
 * The JSON event written for one transaction.
 * @module
 */

import {
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  InterfaceIdOption,
  type Option,
  RemoteIdOption,
  STATUS_NAMES,
  StatusCodeOption,
  toHex,
  type TransactionBundle,
} from "@dhcpkit/dhcpkit";

/** A relay agent between the client and the server. */
export interface RelayEvent {
  /** The relay's link address (`::` for a lightweight relay). */
  link_address: string;
  /** The address the relay received the message from. */
  peer_address: string;
  /** Interface-ID option data as hex, if the relay sent one. */
  interface_id?: string;
  /** The same as text, when it is printable. */
  interface_id_text?: string;
  /** Remote-ID option, if the relay sent one. */
  remote_id?: { enterprise_number: number; remote_id: string };
}

/** A status code found in the response (at message level or inside an IA). */
export interface StatusEvent {
  /** `message`, or the IA it was found in, e.g. `ia_na:1`. */
  scope: string;
  /** Numeric status code. */
  code: number;
  /** Its name, e.g. `NoAddrsAvail`. */
  name: string;
}

/** One line of the event stream. */
export interface TransactionEvent {
  /** Always `transaction` (the stream also carries `dropped` events). */
  event: "transaction";
  /** When the response was finished (ISO 8601, UTC). */
  time: string;
  /** Request message type, e.g. `solicit`. */
  request: string;
  /** Response message type, e.g. `advertise`. */
  response: string;
  /** The client's DUID as hex, or null when the request has none. */
  client_duid: string | null;
  /** The address identifying the client's link. */
  link_address: string;
  /** Relay agents, closest to the client first. */
  relays: RelayEvent[];
  /** Marks of the transaction. */
  marks: string[];
  /** Addresses in the response's IA_NA and IA_TA options. */
  addresses: {
    iaid: number;
    address: string;
    preferred_lifetime: number;
    valid_lifetime: number;
  }[];
  /** Prefixes in the response's IA_PD options. */
  prefixes: { iaid: number; prefix: string; preferred_lifetime: number; valid_lifetime: number }[];
  /** Status codes in the response. */
  status_codes: StatusEvent[];
  /** Milliseconds from the start of the pipeline to the finished response. */
  handling_ms: number;
}

const PRINTABLE = /^[\x20-\x7e]+$/;

function status(scope: string, option: StatusCodeOption): StatusEvent {
  const code = option.statusCode;
  return { scope, code, name: STATUS_NAMES.get(code) ?? "unknown" };
}

function relayEvent(relay: TransactionBundle["incomingRelayMessages"][number]): RelayEvent {
  const out: RelayEvent = { link_address: relay.linkAddress, peer_address: relay.peerAddress };
  const interfaceId = relay.getOption(InterfaceIdOption);
  if (interfaceId) {
    out.interface_id = toHex(interfaceId.data);
    const text = new TextDecoder().decode(interfaceId.data);
    if (PRINTABLE.test(text)) out.interface_id_text = text;
  }
  const remoteId = relay.getOption(RemoteIdOption);
  if (remoteId) {
    out.remote_id = {
      enterprise_number: remoteId.enterpriseNumber,
      remote_id: toHex(remoteId.remoteId),
    };
  }
  return out;
}

/** Build the event for a bundle whose response is finished. */
export function transactionEvent(bundle: TransactionBundle, handlingMs: number): TransactionEvent {
  const event: TransactionEvent = {
    event: "transaction",
    time: new Date().toISOString(),
    request: bundle.request.name,
    response: bundle.response.name,
    client_duid: bundle.clientDuid?.toHex() ?? null,
    link_address: bundle.linkAddress,
    relays: bundle.realRelays.map(relayEvent),
    marks: [...bundle.marks],
    addresses: [],
    prefixes: [],
    status_codes: [],
    handling_ms: Math.round(handlingMs * 1000) / 1000,
  };
  for (const option of bundle.response.options as Option[]) {
    if (option instanceof StatusCodeOption) event.status_codes.push(status("message", option));
    if (option instanceof IANAOption || option instanceof IATAOption) {
      const scope = `${option instanceof IANAOption ? "ia_na" : "ia_ta"}:${option.iaid}`;
      for (const sub of option.options) {
        if (sub instanceof IAAddressOption) {
          event.addresses.push({
            iaid: option.iaid,
            address: sub.address,
            preferred_lifetime: sub.preferredLifetime,
            valid_lifetime: sub.validLifetime,
          });
        } else if (sub instanceof StatusCodeOption) event.status_codes.push(status(scope, sub));
      }
    } else if (option instanceof IAPDOption) {
      for (const sub of option.options) {
        if (sub instanceof IAPrefixOption) {
          event.prefixes.push({
            iaid: option.iaid,
            prefix: `${sub.prefix}/${sub.prefixLength}`,
            preferred_lifetime: sub.preferredLifetime,
            valid_lifetime: sub.validLifetime,
          });
        } else if (sub instanceof StatusCodeOption) {
          event.status_codes.push(status(`ia_pd:${option.iaid}`, sub));
        }
      }
    }
  }
  return event;
}
