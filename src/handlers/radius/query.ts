/**
 * What dhcpkit tells the RADIUS server about a request: the User-Name chosen by the configured
 * `user-name` kinds, the Calling-Station-Id (the client's DUID) and the NAS-Port-Id (the relay's
 * Interface-ID), and the key under which the answer is shared and cached.
 * @module
 */

import type { TransactionBundle } from "../../pipeline/mod.ts";
import {
  InterfaceIdOption,
  LinkLayerIdOption,
  type RelayForwardMessage,
  RemoteIdOption,
  SubscriberIdOption,
  toHex,
} from "../../protocol/mod.ts";
import { MAX_VALUE_LENGTH } from "./packet.ts";

/** Where the User-Name may come from, in the spelling of the `user-name` key. */
export const USER_NAME_KINDS = [
  "duid",
  "remote-id",
  "interface-id",
  "subscriber-id",
  "linklayer-id",
] as const;

/** One source of the User-Name. */
export type UserNameKind = typeof USER_NAME_KINDS[number];

/** The per-request attributes of an Access-Request, as text. */
export interface RadiusQuery {
  /** Identifies the question: requests with equal keys share one exchange and one answer. */
  readonly key: string;
  /** The User-Name. */
  readonly userName: string;
  /** The kind the User-Name came from. */
  readonly kind: UserNameKind;
  /** Calling-Station-Id: the client's DUID in lower-case hex, when it has one. */
  readonly callingStationId?: string;
  /** NAS-Port-Id: the Interface-ID of the relay closest to the client, when there is one. */
  readonly nasPortId?: string;
}

/** True when every byte is printable ASCII (space to tilde) and there is at least one. */
export function isPrintable(data: Uint8Array): boolean {
  if (data.length === 0) return false;
  for (const b of data) if (b < 0x20 || b > 0x7e) return false;
  return true;
}

/** The data as text when it is printable ASCII, else as lower-case hex. */
export function textOrHex(data: Uint8Array): string {
  return isPrintable(data) ? String.fromCharCode(...data) : toHex(data);
}

/** The relay closest to the client, when the request came through a relay agent. */
function closestRelay(bundle: TransactionBundle): RelayForwardMessage | undefined {
  // The last layer is the server's own wrapper: its Interface-ID names a server interface that
  // every directly connected client shares, so it never identifies a subscriber.
  return bundle.incomingRelayMessages.length > 1 ? bundle.incomingRelayMessages[0] : undefined;
}

/** The User-Name text of one kind for the request, or undefined when the request has none. */
export function userNameOf(bundle: TransactionBundle, kind: UserNameKind): string | undefined {
  if (kind === "duid") {
    const duid = bundle.clientDuid;
    return duid ? duid.toHex() : undefined;
  }
  const relay = closestRelay(bundle);
  if (!relay) return undefined;
  let data: Uint8Array | undefined;
  switch (kind) {
    case "remote-id":
      data = relay.getOption(RemoteIdOption)?.remoteId;
      break;
    case "interface-id":
      data = relay.getOption(InterfaceIdOption)?.data;
      break;
    case "subscriber-id":
      data = relay.getOption(SubscriberIdOption)?.data;
      break;
    case "linklayer-id": {
      const address = relay.getOption(LinkLayerIdOption)?.linkLayerAddress;
      return address && address.length > 0 ? toHex(address, ":") : undefined;
    }
  }
  // Longer data fits no attribute, neither as text nor as hex.
  return data && data.length > 0 && data.length <= MAX_VALUE_LENGTH ? textOrHex(data) : undefined;
}

const encoder = new TextEncoder();

/** True when text fits one attribute value. */
function fits(text: string): boolean {
  return text.length <= MAX_VALUE_LENGTH && encoder.encode(text).length <= MAX_VALUE_LENGTH;
}

/**
 * The query for a request: the User-Name of the first kind in `kinds` the request has (and that
 * fits an attribute), or undefined when it has none.
 */
export function queryFor(
  bundle: TransactionBundle,
  kinds: readonly UserNameKind[],
): RadiusQuery | undefined {
  for (const kind of kinds) {
    const userName = userNameOf(bundle, kind);
    if (userName === undefined || !fits(userName)) continue;
    let callingStationId = bundle.clientDuid?.toHex();
    if (callingStationId !== undefined && !fits(callingStationId)) callingStationId = undefined;
    const interfaceId = closestRelay(bundle)?.getOption(InterfaceIdOption)?.data;
    let nasPortId = interfaceId && interfaceId.length > 0 && interfaceId.length <= MAX_VALUE_LENGTH
      ? textOrHex(interfaceId)
      : undefined;
    if (nasPortId !== undefined && !fits(nasPortId)) nasPortId = undefined;
    // Each part is framed by its length, so different parts never make the same key.
    const key = [userName, callingStationId ?? "", nasPortId ?? ""]
      .map((part) => `${part.length}:${part}`).join("");
    return { key, userName, kind, callingStationId, nasPortId };
  }
  return undefined;
}
