/**
 * The request `ctl explain` and the looking glass's `/explain` ask about: a synthetic client
 * message (type, DUID, relay options) or a captured one (`hex`), received as if on one of the
 * server's listeners.
 * @module
 */

import {
  type ClientServerMessage,
  type Duid,
  duidFromBytes,
  fromHex,
  IANAOption,
  IAPDOption,
  InterfaceIdOption,
  type Option,
  parseIPv6,
  RelayForwardMessage,
  RelayMessageOption,
  RemoteIdOption,
  serializeMessage,
  SubscriberIdOption,
} from "../protocol/mod.ts";
import { CLIENT_REQUEST_TYPES, clientMessage, type QueryType } from "../tools/client_messages.ts";
import type { IncomingPacket } from "../pipeline/mod.ts";
import type { ListenerPlan } from "./listener_plan.ts";

/** The request types explain builds. */
export const EXPLAIN_TYPES = CLIENT_REQUEST_TYPES;

/** The client DUID of a synthetic request without `duid` (a DUID-LL of 02:00:00:00:00:01). */
export const DEFAULT_EXPLAIN_DUID = "00030001020000000001";

/** What to explain; every field is text as typed on the command line or in a URL. */
export interface ExplainRequest {
  /** Request type (default solicit); ignored with `hex`. */
  type?: string;
  /** Client DUID as hex. */
  duid?: string;
  /** IAID of the IA_NA and IA_PD (decimal, or `0x` and hex), default 1. */
  iaid?: string;
  /** Interface-ID of a relay layer: text, or `0x` and hex. */
  interfaceId?: string;
  /** Remote-ID of a relay layer: `ENTERPRISE:TEXT` or `ENTERPRISE:0xHEX`. */
  remoteId?: string;
  /** Subscriber-ID of a relay layer: text, or `0x` and hex. */
  subscriberId?: string;
  /** Link address of the relay layer. */
  linkAddress?: string;
  /** The server interface (listener) it arrives on. */
  interface?: string;
  /** A captured message (relayed or not) as hex, instead of building one. */
  hex?: string;
}

/** A request that cannot be built; the message says why (one line). */
export class ExplainRequestError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "ExplainRequestError";
  }
}

/** `TEXT` or `0xHEX` as bytes. */
export function opaqueBytes(what: string, text: string): Uint8Array {
  if (/^0x/i.test(text)) {
    const hex = text.slice(2);
    if (hex === "" || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
      throw new ExplainRequestError(`${what}: ${text} is not hex (0x and pairs of hex digits)`);
    }
    return fromHex(hex);
  }
  if (text === "") throw new ExplainRequestError(`${what} must not be empty`);
  return new TextEncoder().encode(text);
}

/** `HEX` (colons allowed) as bytes. */
function hexBytes(what: string, text: string): Uint8Array {
  const hex = text.replace(/[:\s]/g, "").replace(/^0x/i, "");
  if (hex === "" || hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) {
    throw new ExplainRequestError(`${what}: not hex: ${text.slice(0, 60)}`);
  }
  return fromHex(hex);
}

function duidOf(text: string): Duid {
  try {
    return duidFromBytes(hexBytes("duid", text));
  } catch (e) {
    if (e instanceof ExplainRequestError) throw e;
    throw new ExplainRequestError(`duid: ${(e as Error).message}`);
  }
}

function address(what: string, text: string): string {
  try {
    parseIPv6(text);
  } catch {
    throw new ExplainRequestError(`${what}: ${text} is not an IPv6 address`);
  }
  return text;
}

/** The relay options `request` asks for. */
function relayOptions(request: ExplainRequest): Option[] {
  const out: Option[] = [];
  if (request.interfaceId !== undefined) {
    out.push(new InterfaceIdOption(opaqueBytes("interface-id", request.interfaceId)));
  }
  if (request.remoteId !== undefined) {
    const text = request.remoteId;
    const colon = text.indexOf(":");
    const enterprise = colon > 0 ? text.slice(0, colon) : "";
    if (!/^\d+$/.test(enterprise) || Number(enterprise) > 0xffffffff) {
      throw new ExplainRequestError(
        `remote-id takes ENTERPRISE:TEXT or ENTERPRISE:0xHEX, not ${text.slice(0, 60)}`,
      );
    }
    out.push(
      new RemoteIdOption(Number(enterprise), opaqueBytes("remote-id", text.slice(colon + 1))),
    );
  }
  if (request.subscriberId !== undefined) {
    out.push(new SubscriberIdOption(opaqueBytes("subscriber-id", request.subscriberId)));
  }
  return out;
}

/** An IAID: decimal, or `0x` and hex, 32 bits. */
function iaidOf(text: string): number {
  const value = /^0x[0-9a-f]{1,8}$/i.test(text)
    ? parseInt(text.slice(2), 16)
    : /^\d{1,10}$/.test(text)
    ? Number(text)
    : NaN;
  if (!(value >= 0 && value <= 0xffffffff)) {
    throw new ExplainRequestError(`iaid: ${text.slice(0, 20)} is not a 32-bit number`);
  }
  return value;
}

/** The client message of a synthetic request (`serverDuid` fills in the Server Identifier). */
export function clientMessageOf(request: ExplainRequest, serverDuid: Duid): ClientServerMessage {
  const type = request.type || "solicit";
  if (!(EXPLAIN_TYPES as readonly string[]).includes(type)) {
    throw new ExplainRequestError(`TYPE must be one of ${EXPLAIN_TYPES.join(", ")}, not ${type}`);
  }
  const iaid = request.iaid ? iaidOf(request.iaid) : undefined;
  const held = type === "release" || type === "confirm";
  return clientMessage({
    type: type as QueryType,
    ias: iaid === undefined || held
      ? undefined
      : [new IANAOption(iaid, 0, 0, []), new IAPDOption(iaid, 0, 0, [])],
    duid: duidOf(request.duid || DEFAULT_EXPLAIN_DUID),
    serverDuid,
    addresses: [],
    prefixes: [],
    oro: [23, 24],
    rapidCommit: false,
    transactionId: 0x4c4731, // "LG1": recognisable in logs
  }) as ClientServerMessage;
}

/** The listener a request arrives on: the named one, else the first that fits. */
function listenerOf(
  request: ExplainRequest,
  plans: readonly ListenerPlan[],
  relayed: boolean,
): ListenerPlan | undefined {
  if (request.interface) return plans.find((p) => p.interfaceName === request.interface);
  return plans.find((p) => p.kind === (relayed ? "unicast" : "interface")) ?? plans[0];
}

/**
 * The packet for `request` as the server would receive it on one of `plans` (the one named by
 * `interface`, else the first that fits: a unicast listener for relayed requests, an interface
 * for direct ones). Throws {@link ExplainRequestError} with one line when it cannot be built.
 */
export function explainPacket(
  request: ExplainRequest,
  plans: readonly ListenerPlan[],
  serverDuid: Duid,
): IncomingPacket {
  let data: Uint8Array;
  let relayed: boolean;
  if (request.hex !== undefined && request.hex !== "") {
    data = hexBytes("hex", request.hex);
    relayed = data[0] === 12;
  } else {
    const relay = relayOptions(request);
    const link = request.linkAddress ? address("link-address", request.linkAddress) : undefined;
    relayed = relay.length > 0 || link !== undefined;
    const message = clientMessageOf(request, serverDuid);
    data = serializeMessage(
      relayed
        ? new RelayForwardMessage(0, link ?? "::", "fe80::1", [
          ...relay,
          new RelayMessageOption(message),
        ])
        : message,
    );
  }
  const plan = listenerOf(request, plans, relayed);
  if (request.interface && !plan && plans.length > 0) {
    throw new ExplainRequestError(
      `no listener on interface ${request.interface} (listeners: ${
        plans.map((p) => p.interfaceName || p.description).join(", ")
      })`,
    );
  }
  return {
    data,
    source: relayed ? "fe80::1" : "fe80::2",
    sourcePort: relayed ? 547 : 546,
    interfaceName: plan?.interfaceName ?? request.interface ?? "",
    linkAddress: plan?.linkAddress ?? "::",
    receivedOverMulticast: plan ? plan.kind === "interface" : true,
    receivedOverTcp: false,
    marks: plan?.marks ?? ["unmarked"],
    id: "explain",
  };
}
