/**
 * The Client FQDN option (39) of RFC 4704. Partial (relative) names are kept as such
 * (INVENTORY decision 28), so a name without the root label is re-emitted without it.
 * @module
 */

import { MsgType } from "../constants.ts";
import { ParseError, ValidationError } from "../errors.ts";
import { minLength, type Writer } from "../bytes.ts";
import { readDomainName, writeDomainName } from "../domain.ts";
import { allowInMessage } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";
import { checkUint } from "./core.ts";
import { checkDomainName } from "./dns.ts";

/** Flag bit S: the server should perform the AAAA (forward) update. */
export const FQDN_FLAG_S = 0x01;
/** Flag bit O: the server overrode the client's S bit. */
export const FQDN_FLAG_O = 0x02;
/** Flag bit N: the server should not perform any DNS update. */
export const FQDN_FLAG_N = 0x04;

/** Client FQDN (39): update flags and the client's full or partial domain name. */
export class ClientFQDNOption extends Option {
  /** Option code. */
  static readonly code = 39;
  /** Option name. */
  static readonly optionName = "client-fqdn";

  /**
   * Create a Client FQDN option. `domainName` is ASCII without a trailing dot; `absolute` says
   * whether it is fully qualified (ends with the root label) and defaults to "non-empty name".
   * An empty, non-absolute name is an empty Domain Name field (the client asks for a name).
   */
  constructor(
    public flags = 0,
    public domainName = "",
    public absolute: boolean = domainName !== "",
  ) {
    super();
  }

  /** Parse the option data: flags(1) then a full, partial or empty name filling the rest. */
  static parse(buf: Uint8Array, start: number, end: number): ClientFQDNOption {
    minLength(start, end, 1, "client-fqdn");
    const flags = buf[start];
    if (start + 1 === end) return new ClientFQDNOption(flags, "", false);
    const name = readDomainName(buf, start + 1, end, true);
    if (name.next !== end) {
      throw new ParseError(name.next, "client-fqdn has data after its domain name");
    }
    return new ClientFQDNOption(flags, name.name, name.absolute);
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.flags);
    writeDomainName(w, this.domainName, this.absolute);
  }

  /** The S bit: the server should (client) or will (server) update the AAAA record. */
  get serverAaaaUpdate(): boolean {
    return (this.flags & FQDN_FLAG_S) !== 0;
  }
  set serverAaaaUpdate(on: boolean) {
    this.flags = on ? this.flags | FQDN_FLAG_S : this.flags & ~FQDN_FLAG_S;
  }

  /** The O bit: the server overrode the client's S bit. */
  get serverAaaaOverride(): boolean {
    return (this.flags & FQDN_FLAG_O) !== 0;
  }
  set serverAaaaOverride(on: boolean) {
    this.flags = on ? this.flags | FQDN_FLAG_O : this.flags & ~FQDN_FLAG_O;
  }

  /** The N bit: the server should (client) or will (server) not update DNS at all. */
  get noServerDnsUpdate(): boolean {
    return (this.flags & FQDN_FLAG_N) !== 0;
  }
  set noServerDnsUpdate(on: boolean) {
    this.flags = on ? this.flags | FQDN_FLAG_N : this.flags & ~FQDN_FLAG_N;
  }

  /**
   * Flags fit 8 bits (the MBZ bits are ignored, RFC 4704 §4.1), N and S are not both set, and the
   * name encodes.
   */
  override validate(): void {
    checkUint(this.flags, 8, "client-fqdn flags");
    if (this.noServerDnsUpdate && this.serverAaaaUpdate) {
      throw new ValidationError("client-fqdn has both the N and the S flag set");
    }
    if (this.domainName !== "" || this.absolute) {
      checkDomainName(this.domainName, "client-fqdn domain name", this.absolute);
    }
  }
}

registerOption(ClientFQDNOption);

// RFC 4704 §5: only in Solicit, Advertise, Request, Renew, Rebind and Reply, at most once.
const { Solicit: S, Advertise: A, Request: RQ, Renew: RN, Rebind: RB, Reply: RP } = MsgType;
allowInMessage([S, A, RQ, RN, RB, RP], 39, 0, 1);
