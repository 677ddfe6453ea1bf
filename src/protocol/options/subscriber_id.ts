/**
 * The Relay Agent Subscriber-ID option (38) of RFC 4580.
 * @module
 */

import { MsgType } from "../constants.ts";
import { ValidationError } from "../errors.ts";
import { allowInMessage } from "../occurrence.ts";
import { registerOption } from "../option.ts";
import { OpaqueOption } from "./base.ts";

/** Subscriber-ID (38): an opaque subscriber identity added by a relay agent. */
export class SubscriberIdOption extends OpaqueOption {
  /** Option code. */
  static readonly code = 38;
  /** Option name. */
  static readonly optionName = "subscriber-id";

  /** Parse the option data (opaque bytes). */
  static parse(buf: Uint8Array, start: number, end: number): SubscriberIdOption {
    return new SubscriberIdOption(buf.subarray(start, end));
  }

  /** RFC 4580 §2: the subscriber-id is at least 1 octet. */
  override validate(): void {
    if (this.data.length < 1) throw new ValidationError("subscriber-id must not be empty");
  }
}

registerOption(SubscriberIdOption);

// RFC 4580 §2: added by relays to Relay-Forward; echoed back in Relay-Reply.
const { RelayForward: RF, RelayReply: RR } = MsgType;
allowInMessage([RF, RR], 38);
