/**
 * The Client Link-Layer Address option (79) of RFC 6939.
 * @module
 */

import { MsgType } from "../constants.ts";
import { minLength, readBytes, readU16, type Writer } from "../bytes.ts";
import { allowInMessage } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";
import { checkUint } from "./core.ts";

/** Client Link-Layer Address (79): the client's hardware type and address, added by a relay. */
export class LinkLayerIdOption extends Option {
  /** Option code. */
  static readonly code = 79;
  /** Option name. */
  static readonly optionName = "link-layer-id";

  /** Create the option from an IANA hardware type (1 = Ethernet) and the link-layer address. */
  constructor(
    public linkLayerType = 0,
    public linkLayerAddress: Uint8Array = new Uint8Array(0),
  ) {
    super();
  }

  /** Parse the option data: link-layer-type(2) link-layer-address. */
  static parse(buf: Uint8Array, start: number, end: number): LinkLayerIdOption {
    minLength(start, end, 2, "link-layer-id");
    return new LinkLayerIdOption(
      readU16(buf, start, end),
      readBytes(buf, start + 2, end, end - start - 2),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u16(this.linkLayerType);
    w.bytes(this.linkLayerAddress);
  }

  /** The hardware type fits 16 bits. */
  override validate(): void {
    checkUint(this.linkLayerType, 16, "link-layer type");
  }
}

registerOption(LinkLayerIdOption);

// RFC 6939 §5: only a first-hop relay adds it to Relay-Forward; echoed back in Relay-Reply.
const { RelayForward: RF, RelayReply: RR } = MsgType;
allowInMessage([RF, RR], 79, 0, 1);
