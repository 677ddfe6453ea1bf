import {
  AdvertiseMessage,
  Option,
  type OptionDefinition,
  ParseError,
  ReplyMessage,
  ValidationError,
  type Writer,
} from "@dhcpkit/dhcpkit";

/** OPTION_V6_CAPTIVE_PORTAL (RFC 8910). */
export const OPTION_CAPTIVE_PORTAL = 103;

/** The URI of the network's captive portal API (RFC 8910). */
export class CaptivePortalOption extends Option {
  /** The option code: the registry finds this class by it. */
  static readonly code = OPTION_CAPTIVE_PORTAL;
  /** The name used in JSON output, `dhcpkit decode` and the configuration. */
  static readonly optionName = "captive-portal";

  /** Every piece of state is a constructor parameter, so options compare and print well. */
  constructor(public uri: string = "") {
    super();
  }

  /** Append the option data (without code and length): the URI as UTF-8, no terminator. */
  writeData(w: Writer): void {
    w.bytes(new TextEncoder().encode(this.uri));
  }

  /** The protocol rules: an HTTPS URI, or the special "no captive portal here" URN. */
  override validate(): void {
    if (this.uri === "urn:ietf:params:capport:unrestricted") return;
    if (!URL.canParse(this.uri) || new URL(this.uri).protocol !== "https:") {
      throw new ValidationError(`captive portal URI ${this.uri} is not an https: URI`);
    }
  }

  /**
   * Parse the data in `buf[start, end)`. Parsers see hostile input: they may throw only
   * ParseError (with the offset), never anything else.
   */
  static parse(buf: Uint8Array, start: number, end: number): CaptivePortalOption {
    try {
      const decoder = new TextDecoder("utf-8", { fatal: true });
      return new CaptivePortalOption(decoder.decode(buf.subarray(start, end)));
    } catch {
      throw new ParseError(start, "captive portal URI is not valid UTF-8");
    }
  }
}

/**
 * The class and where it may appear (at most once in the messages a server sends to clients).
 * Once the extension is installed, parsing, `dhcpkit decode` and option names in the
 * configuration know it.
 */
export const captivePortalOption: OptionDefinition = {
  option: CaptivePortalOption,
  placements: [{ messages: [AdvertiseMessage.messageType, ReplyMessage.messageType], max: 1 }],
};
