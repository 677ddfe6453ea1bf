/**
 * The Relay Agent Remote-ID option (37) of RFC 4649.
 * @module
 */

import { MsgType } from "../constants.ts";
import { minLength, readBytes, readU32, type Writer } from "../bytes.ts";
import { allowInMessage } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";
import { checkUint } from "./core.ts";

/** Remote-ID (37): a relay's identification of the remote end, qualified by an enterprise number. */
export class RemoteIdOption extends Option {
  /** Option code. */
  static readonly code = 37;
  /** Option name. */
  static readonly optionName = "remote-id";

  /** Create a Remote-ID option from the vendor's enterprise number and the opaque identifier. */
  constructor(public enterpriseNumber = 0, public remoteId: Uint8Array = new Uint8Array(0)) {
    super();
  }

  /** Parse the option data: enterprise-number(4) remote-id. */
  static parse(buf: Uint8Array, start: number, end: number): RemoteIdOption {
    minLength(start, end, 4, "remote-id");
    return new RemoteIdOption(
      readU32(buf, start, end),
      readBytes(buf, start + 4, end, end - start - 4),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.enterpriseNumber);
    w.bytes(this.remoteId);
  }

  /** The enterprise number fits 32 bits. */
  override validate(): void {
    checkUint(this.enterpriseNumber, 32, "remote-id enterprise number");
  }
}

registerOption(RemoteIdOption);

// RFC 4649 §3: added by relays to Relay-Forward; echoed back in Relay-Reply. Also a query option
// of LQ_QUERY for QUERY_BY_REMOTE_ID (RFC 5460; placed by leasequery.ts).
const { RelayForward: RF, RelayReply: RR } = MsgType;
allowInMessage([RF, RR], 37);
