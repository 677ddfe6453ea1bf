/**
 * The Leasequery options of RFC 5007 (44-48) and Bulk Leasequery (RFC 5460: Relay-ID, 53), the
 * query types, and the placement rules of the leasequery messages (14-17).
 * @module
 */

import { MsgType } from "../constants.ts";
import { addressKindOfText } from "../ipv6.ts";
import { ValidationError } from "../errors.ts";
import { minLength, readAddress, type Writer } from "../bytes.ts";
import { type Message, parseMessageAt } from "../message.ts";
import { RelayForwardMessage } from "../messages.ts";
import { allowInMessage, allowInOption, optionOccurrence } from "../occurrence.ts";
import { Option, optionTypes, parseOptions, registerOption, writeOptions } from "../option.ts";
import { DuidOption, parseAddressList, parseDuidData, parseU32Data } from "./base.ts";
import { checkUint, validateChildren } from "./core.ts";

/** Query by the address in an IA Address option of the query (RFC 5007). */
export const QUERY_BY_ADDRESS = 1;
/** Query by the Client Identifier option of the query (RFC 5007). */
export const QUERY_BY_CLIENTID = 2;
/** Query by the Relay-ID option of the query (RFC 5460, bulk only). */
export const QUERY_BY_RELAY_ID = 3;
/** Query by the link address of the query (RFC 5460, bulk only). */
export const QUERY_BY_LINK_ADDRESS = 4;
/** Query by the Remote-ID option of the query (RFC 5460, bulk only). */
export const QUERY_BY_REMOTE_ID = 5;

/** Query type number -> name. */
export const QUERY_TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [QUERY_BY_ADDRESS, "query-by-address"],
  [QUERY_BY_CLIENTID, "query-by-clientid"],
  [QUERY_BY_RELAY_ID, "query-by-relay-id"],
  [QUERY_BY_LINK_ADDRESS, "query-by-link-address"],
  [QUERY_BY_REMOTE_ID, "query-by-remote-id"],
]);

function checkLinkAddress(address: string, what: string, allowUnspecified: boolean): void {
  const kind = addressKindOfText(address);
  if (kind === undefined) throw new ValidationError(`${what} ${address} is not an IPv6 address`);
  if (
    (!allowUnspecified && kind === "unspecified") || kind === "loopback" || kind === "multicast"
  ) {
    throw new ValidationError(`${what} ${address} must not be loopback, multicast or unspecified`);
  }
}

/** LQ_QUERY (44): the query of a LEASEQUERY message: type, link address and query options. */
export class LQQueryOption extends Option {
  /** Option code. */
  static readonly code = 44;
  /** Option name. */
  static readonly optionName = "lq-query";

  /** Create a query; `linkAddress` `::` means "any link". */
  constructor(public queryType = 0, public linkAddress = "::", public options: Option[] = []) {
    super();
  }

  /** Parse the option data: query-type(1) link-address(16) query-options. */
  static parse(buf: Uint8Array, start: number, end: number): LQQueryOption {
    minLength(start, end, 17, "lq-query");
    return new LQQueryOption(
      buf[start],
      readAddress(buf, start + 1, end),
      parseOptions(buf, start + 17, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u8(this.queryType);
    w.address(this.linkAddress);
    writeOptions(w, this.options);
  }

  /**
   * Query type fits 8 bits (unsupported types are answered with UnknownQueryType, and missing
   * query options with MalformedQuery, by the server), link address not loopback or multicast,
   * query options allowed.
   */
  override validate(): void {
    checkUint(this.queryType, 8, "query type");
    checkLinkAddress(this.linkAddress, "lq-query link address", true);
    validateChildren(this, "lq-query", this.options);
  }
}

/**
 * CLIENT_DATA (45): everything the server knows about one client on one link. Besides the
 * options with a placement rule here (Client ID, IA Address, IA Prefix, CLT Time, Relay Data) it
 * may carry any option the requestor asked for, so other registered options are accepted.
 */
export class ClientDataOption extends Option {
  /** Option code. */
  static readonly code = 45;
  /** Option name. */
  static readonly optionName = "client-data";

  /** Create a Client Data option. */
  constructor(public options: Option[] = []) {
    super();
  }

  /** Parse the option data (options filling it exactly). */
  static parse(buf: Uint8Array, start: number, end: number): ClientDataOption {
    return new ClientDataOption(parseOptions(buf, start, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeOptions(w, this.options);
  }

  /** Occurrence counts of the options with a rule here; every option valid. */
  override validate(): void {
    const rules = optionOccurrence.get(45);
    const counts = new Map<number, number>();
    for (const o of this.options) counts.set(o.code, (counts.get(o.code) ?? 0) + 1);
    for (const [code, [min, max]] of rules ?? []) {
      const n = counts.get(code) ?? 0;
      if (n < min || n > max) {
        const name = optionTypes.get(code)?.optionName ?? String(code);
        throw new ValidationError(
          `client-data must contain ${min === max ? `exactly ${min}` : `${min} to ${max}`} ` +
            `${name} (${code}) option(s), found ${n}`,
        );
      }
    }
    for (const o of this.options) {
      o.validate();
      // The addresses and prefixes here are leases the server handed out, not client hints.
      (o as { checkLease?: () => void }).checkLease?.();
    }
  }
}

/** CLT_TIME (46): seconds since the server last heard from the client. */
export class CLTTimeOption extends Option {
  /** Option code. */
  static readonly code = 46;
  /** Option name. */
  static readonly optionName = "clt-time";

  /** Create the option with the client-last-transaction time in seconds. */
  constructor(public cltTime = 0) {
    super();
  }

  /** Parse the option data (exactly 4 bytes). */
  static parse(buf: Uint8Array, start: number, end: number): CLTTimeOption {
    return new CLTTimeOption(parseU32Data(buf, start, end, "clt-time"));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.u32(this.cltTime);
  }

  /** The time fits 32 bits. */
  override validate(): void {
    checkUint(this.cltTime, 32, "clt-time");
  }
}

/**
 * LQ_RELAY_DATA (47): the relay's address and the last Relay-Forward received for the client
 * (with the client's own message removed from the innermost relay).
 */
export class LQRelayDataOption extends Option {
  /** Option code. */
  static readonly code = 47;
  /** Option name. */
  static readonly optionName = "lq-relay-data";

  /** Create the option from the peer (relay) address and its relay-forward message. */
  constructor(public peerAddress = "::", public message: Message = new RelayForwardMessage()) {
    super();
  }

  /** Parse the option data: peer-address(16) then one whole message. */
  static parse(buf: Uint8Array, start: number, end: number): LQRelayDataOption {
    minLength(start, end, 17, "lq-relay-data");
    return new LQRelayDataOption(
      readAddress(buf, start, end),
      parseMessageAt(buf, start + 16, end),
    );
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    w.address(this.peerAddress);
    this.message.write(w);
  }

  /** Peer address usable, the message a valid Relay-Forward. */
  override validate(): void {
    checkLinkAddress(this.peerAddress, "lq-relay-data peer address", false);
    if (!(this.message instanceof RelayForwardMessage)) {
      throw new ValidationError(
        `lq-relay-data carries a ${this.message.name}, not a relay-forward`,
      );
    }
    this.message.validate();
  }
}

/** LQ_CLIENT_LINK (48): the links on which the queried client has bindings. */
export class LQClientLinkOption extends Option {
  /** Option code. */
  static readonly code = 48;
  /** Option name. */
  static readonly optionName = "lq-client-link";

  /** Create the option with link addresses (IPv6 text). */
  constructor(public linkAddresses: string[] = []) {
    super();
  }

  /** Parse the option data (a whole number of 16-byte addresses). */
  static parse(buf: Uint8Array, start: number, end: number): LQClientLinkOption {
    return new LQClientLinkOption(parseAddressList(buf, start, end, "lq-client-link"));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    for (const a of this.linkAddresses) w.address(a);
  }

  /** At least one address; none loopback, multicast or unspecified. */
  override validate(): void {
    if (this.linkAddresses.length === 0) {
      throw new ValidationError("lq-client-link holds no link address");
    }
    for (const a of this.linkAddresses) checkLinkAddress(a, "lq-client-link address", false);
  }
}

/** RELAY_ID (53): the DUID of a relay agent (RFC 5460 §5.4.1). */
export class RelayIdOption extends DuidOption {
  /** Option code. */
  static readonly code = 53;
  /** Option name. */
  static readonly optionName = "relay-id";
  /** Parse the option data (a DUID of at least 2 bytes). */
  static parse(buf: Uint8Array, start: number, end: number): RelayIdOption {
    return new RelayIdOption(parseDuidData(buf, start, end, "relay-id"));
  }
}

for (
  const type of [
    LQQueryOption,
    ClientDataOption,
    CLTTimeOption,
    LQRelayDataOption,
    LQClientLinkOption,
    RelayIdOption,
  ]
) registerOption(type);

const {
  RelayForward: RF,
  Leasequery: LQ,
  LeasequeryReply: LQR,
  LeasequeryDone: LQDONE,
  LeasequeryData: LQDATA,
} = MsgType;

// RFC 5007 §4.1.1, §4.2: a LEASEQUERY names its requestor and carries exactly one query.
allowInMessage(LQ, 1, 1, 1);
allowInMessage(LQ, 44, 1, 1);
// RFC 5007 §4.1.2, §4.3.3: the reply names both ends and carries client data or client links.
allowInMessage(LQR, 1, 1, 1);
allowInMessage(LQR, 2, 1, 1);
allowInMessage(LQR, 45, 0, 1);
allowInMessage(LQR, 47);
allowInMessage(LQR, 48, 0, 1);
// RFC 5460 §5.3: further clients come in LEASEQUERY-DATA, the end of the stream in LEASEQUERY-DONE.
allowInMessage(LQDATA, 45, 1, 1);
allowInMessage([LQDATA, LQDONE], 1, 0, 1);
allowInMessage([LQDATA, LQDONE], 2, 0, 1);
// RFC 5460 §5.4.1: relays may identify themselves in Relay-Forward (INVENTORY decision 19).
allowInMessage(RF, 53, 0, 1);

// Query options (RFC 5007 §4.1.2.1, RFC 5460 §5.1; INVENTORY decision 21).
for (const code of [1, 5, 6, 37, 53]) allowInOption(44, code);
// Client data (RFC 5007 §4.1.2.2-4): one client, its last-transaction time, its leases.
allowInOption(45, 1, 1, 1);
allowInOption(45, 46, 1, 1);
allowInOption(45, 47, 0, 1);
allowInOption(45, 5);
allowInOption(45, 26);
