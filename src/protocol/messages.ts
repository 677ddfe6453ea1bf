/**
 * The message types of RFC 8415 (1-13), RFC 5007 (14-15) and RFC 5460 (16-17).
 * @module
 */

import { MsgType } from "./constants.ts";
import {
  ClientServerMessage,
  type MessageType,
  parseClientServer,
  parseRelay,
  registerMessage,
  RelayMessage,
} from "./message.ts";

/** SOLICIT (1). */
export class SolicitMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Solicit;
  /** Message name. */
  static readonly messageName = "solicit";
  /** Parse a whole solicit message. */
  static parse(buf: Uint8Array, start: number, end: number): SolicitMessage {
    return parseClientServer(SolicitMessage, buf, start, end);
  }
}

/** ADVERTISE (2). */
export class AdvertiseMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Advertise;
  /** Message name. */
  static readonly messageName = "advertise";
  /** Parse a whole advertise message. */
  static parse(buf: Uint8Array, start: number, end: number): AdvertiseMessage {
    return parseClientServer(AdvertiseMessage, buf, start, end);
  }
}

/** REQUEST (3). */
export class RequestMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Request;
  /** Message name. */
  static readonly messageName = "request";
  /** Parse a whole request message. */
  static parse(buf: Uint8Array, start: number, end: number): RequestMessage {
    return parseClientServer(RequestMessage, buf, start, end);
  }
}

/** CONFIRM (4). */
export class ConfirmMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Confirm;
  /** Message name. */
  static readonly messageName = "confirm";
  /** Parse a whole confirm message. */
  static parse(buf: Uint8Array, start: number, end: number): ConfirmMessage {
    return parseClientServer(ConfirmMessage, buf, start, end);
  }
}

/** RENEW (5). */
export class RenewMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Renew;
  /** Message name. */
  static readonly messageName = "renew";
  /** Parse a whole renew message. */
  static parse(buf: Uint8Array, start: number, end: number): RenewMessage {
    return parseClientServer(RenewMessage, buf, start, end);
  }
}

/** REBIND (6). */
export class RebindMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Rebind;
  /** Message name. */
  static readonly messageName = "rebind";
  /** Parse a whole rebind message. */
  static parse(buf: Uint8Array, start: number, end: number): RebindMessage {
    return parseClientServer(RebindMessage, buf, start, end);
  }
}

/** REPLY (7). */
export class ReplyMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Reply;
  /** Message name. */
  static readonly messageName = "reply";
  /** Parse a whole reply message. */
  static parse(buf: Uint8Array, start: number, end: number): ReplyMessage {
    return parseClientServer(ReplyMessage, buf, start, end);
  }
}

/** RELEASE (8). */
export class ReleaseMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Release;
  /** Message name. */
  static readonly messageName = "release";
  /** Parse a whole release message. */
  static parse(buf: Uint8Array, start: number, end: number): ReleaseMessage {
    return parseClientServer(ReleaseMessage, buf, start, end);
  }
}

/** DECLINE (9). */
export class DeclineMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Decline;
  /** Message name. */
  static readonly messageName = "decline";
  /** Parse a whole decline message. */
  static parse(buf: Uint8Array, start: number, end: number): DeclineMessage {
    return parseClientServer(DeclineMessage, buf, start, end);
  }
}

/** RECONFIGURE (10). */
export class ReconfigureMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Reconfigure;
  /** Message name. */
  static readonly messageName = "reconfigure";
  /** Parse a whole reconfigure message. */
  static parse(buf: Uint8Array, start: number, end: number): ReconfigureMessage {
    return parseClientServer(ReconfigureMessage, buf, start, end);
  }
}

/** INFORMATION-REQUEST (11). */
export class InformationRequestMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.InformationRequest;
  /** Message name. */
  static readonly messageName = "information-request";
  /** Parse a whole information-request message. */
  static parse(buf: Uint8Array, start: number, end: number): InformationRequestMessage {
    return parseClientServer(InformationRequestMessage, buf, start, end);
  }
}

/** LEASEQUERY (14). */
export class LeasequeryMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.Leasequery;
  /** Message name. */
  static readonly messageName = "leasequery";
  /** Parse a whole leasequery message. */
  static parse(buf: Uint8Array, start: number, end: number): LeasequeryMessage {
    return parseClientServer(LeasequeryMessage, buf, start, end);
  }
}

/** LEASEQUERY-REPLY (15). */
export class LeasequeryReplyMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.LeasequeryReply;
  /** Message name. */
  static readonly messageName = "leasequery-reply";
  /** Parse a whole leasequery-reply message. */
  static parse(buf: Uint8Array, start: number, end: number): LeasequeryReplyMessage {
    return parseClientServer(LeasequeryReplyMessage, buf, start, end);
  }
}

/** LEASEQUERY-DONE (16). */
export class LeasequeryDoneMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.LeasequeryDone;
  /** Message name. */
  static readonly messageName = "leasequery-done";
  /** Parse a whole leasequery-done message. */
  static parse(buf: Uint8Array, start: number, end: number): LeasequeryDoneMessage {
    return parseClientServer(LeasequeryDoneMessage, buf, start, end);
  }
}

/** LEASEQUERY-DATA (17). */
export class LeasequeryDataMessage extends ClientServerMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.LeasequeryData;
  /** Message name. */
  static readonly messageName = "leasequery-data";
  /** Parse a whole leasequery-data message. */
  static parse(buf: Uint8Array, start: number, end: number): LeasequeryDataMessage {
    return parseClientServer(LeasequeryDataMessage, buf, start, end);
  }
}

/** RELAY-FORWARD (12). */
export class RelayForwardMessage extends RelayMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.RelayForward;
  /** Message name. */
  static readonly messageName = "relay-forward";
  /** Parse a whole relay-forward message. */
  static parse(buf: Uint8Array, start: number, end: number): RelayForwardMessage {
    return parseRelay(RelayForwardMessage, buf, start, end);
  }
}

/** RELAY-REPLY (13). */
export class RelayReplyMessage extends RelayMessage {
  /** Message type code. */
  static readonly messageType: number = MsgType.RelayReply;
  /** Message name. */
  static readonly messageName = "relay-reply";
  /** Parse a whole relay-reply message. */
  static parse(buf: Uint8Array, start: number, end: number): RelayReplyMessage {
    return parseRelay(RelayReplyMessage, buf, start, end);
  }
}

/** Every message class this module defines, in type-code order. */
export const BUILTIN_MESSAGE_TYPES: readonly MessageType[] = [
  SolicitMessage,
  AdvertiseMessage,
  RequestMessage,
  ConfirmMessage,
  RenewMessage,
  RebindMessage,
  ReplyMessage,
  ReleaseMessage,
  DeclineMessage,
  ReconfigureMessage,
  InformationRequestMessage,
  RelayForwardMessage,
  RelayReplyMessage,
  LeasequeryMessage,
  LeasequeryReplyMessage,
  LeasequeryDoneMessage,
  LeasequeryDataMessage,
];

for (const type of BUILTIN_MESSAGE_TYPES) registerMessage(type);

/** Message types a client or relay sends to a server (the server answers these). */
export const CLIENT_TO_SERVER_TYPES: ReadonlySet<number> = new Set([
  1,
  3,
  4,
  5,
  6,
  8,
  9,
  11,
  12,
  14,
]);
