/**
 * What the lines logged while a packet is handled carry besides their message: the packet's id
 * (`#XXXXXX`) and the client's DUID. The server sets the id when it starts on a packet; the
 * pipeline names the client once the request is parsed. The DUID is turned into hex only when a
 * line is actually logged, so handling a packet costs nothing extra when nothing is logged.
 * @module
 */

/** Something that knows the client's DUID, such as a transaction bundle. */
export interface LogClientSource {
  /** The client's DUID, if known. */
  readonly clientDuid?: { toHex(): string } | undefined;
}

let packetId: string | undefined;
let clientSource: LogClientSource | undefined;

/** Set (or clear) the id of the packet being handled; a new packet starts without a client. */
export function setPacketId(id: string | undefined): void {
  packetId = id;
  clientSource = undefined;
}

/** Name (or forget) the client whose request is being handled. */
export function setLogClient(source: LogClientSource | undefined): void {
  clientSource = source;
}

/** The id of the packet being handled, if any. */
export function currentPacketId(): string | undefined {
  return packetId;
}

/** The hex DUID of the client whose request is being handled, if known. */
export function currentClient(): string | undefined {
  return clientSource?.clientDuid?.toHex();
}
