/**
 * Relay Source Port (135, RFC 8357): a relay that does not use port 547 tells the server so, and
 * the server sends the Relay-reply back to the relay's source port.
 * @module
 */

import { exactLength, type Writer } from "../bytes.ts";
import { allowInMessage } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";
import { checkUint } from "./core.ts";

/** Relay Source Port (135). */
export class RelaySourcePortOption extends Option {
  /** Option code. */
  static readonly code = 135;
  /** Option name. */
  static readonly optionName = "relay-source-port";

  /** Create the option; `downstreamPort` is the source port of the relay further down, or 0. */
  constructor(public downstreamPort = 0) {
    super();
  }

  /** Parse the option data. */
  static parse(buf: Uint8Array, start: number, end: number): RelaySourcePortOption {
    exactLength(start, end, 2, "relay-source-port");
    return new RelaySourcePortOption((buf[start] << 8) | buf[start + 1]);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u16(this.downstreamPort);
  }

  /** The port fits 16 bits. */
  override validate(): void {
    checkUint(this.downstreamPort, 16, "downstream port");
  }
}

registerOption(RelaySourcePortOption);
allowInMessage([12, 13], RelaySourcePortOption.code, 0, 1);
