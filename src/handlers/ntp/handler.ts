/**
 * Handler for `<ntp-servers>` (option 56). Following RFC 5908, each time source gets its own
 * option 56. When several sections apply, the sources of the most specific scope come first and
 * sources already present are not repeated.
 * @module
 */

import { Handler, shouldSend, type TransactionBundle } from "../../pipeline/mod.ts";
import { type Option, optionToBytes, toHex } from "../../protocol/mod.ts";
import {
  NTPMulticastAddressSubOption,
  NTPServerAddressSubOption,
  NTPServerFQDNSubOption,
  NTPServersOption,
} from "../../protocol/options/ntp.ts";

/** Identity of an option 56 for duplicate detection, cached per instance. */
const sourceKeys = new WeakMap<Option, string>();

function sourceKey(option: Option): string {
  let key = sourceKeys.get(option);
  if (key === undefined) {
    key = toHex(optionToBytes(option)).toLowerCase();
    sourceKeys.set(option, key);
  }
  return key;
}

/** The time sources of one `<ntp-servers>` section. */
export interface NtpSources {
  /** Multicast group addresses (canonical IPv6 text). */
  multicastAddresses?: readonly string[];
  /** Unicast server addresses (canonical IPv6 text). */
  serverAddresses?: readonly string[];
  /** Server host names (ASCII form). */
  serverFqdns?: readonly string[];
}

/** Adds one NTP Server option (56) per configured time source, merged across scopes. */
export class NtpServersOptionHandler extends Handler {
  /** Answers every Information-request alike (see `treatsInformationRequestsAlike`). */
  static readonly informationRequestsAlike = true;

  /** The options this handler adds, one per time source, in order. */
  readonly options: readonly NTPServersOption[];
  readonly #keys: readonly string[];

  /**
   * Create the handler. Sources are sent in the order multicast addresses, server addresses,
   * server names (the configuration key names' order), each in configuration order.
   */
  constructor(sources: NtpSources, readonly alwaysSend = false) {
    super();
    const options: NTPServersOption[] = [];
    const keys: string[] = [];
    const add = (sub: Option) => {
      const option = new NTPServersOption([sub]);
      const key = sourceKey(option);
      if (keys.includes(key)) return;
      options.push(option);
      keys.push(key);
    };
    for (const a of sources.multicastAddresses ?? []) add(new NTPMulticastAddressSubOption(a));
    for (const a of sources.serverAddresses ?? []) add(new NTPServerAddressSubOption(a));
    for (const n of sources.serverFqdns ?? []) {
      add(new NTPServerFQDNSubOption(n.endsWith(".") ? n.slice(0, -1) : n));
    }
    this.options = options;
    this.#keys = keys;
  }

  /** Add the sources that are not in the response yet, after any present ones. */
  override handle(bundle: TransactionBundle): void {
    if (!shouldSend(bundle, NTPServersOption.code, this.alwaysSend)) return;
    const response = bundle.response.options;
    let last = -1;
    let present: Set<string> | undefined;
    for (let i = 0; i < response.length; i++) {
      if (response[i].code === NTPServersOption.code) {
        last = i;
        (present ??= new Set()).add(sourceKey(response[i]));
      }
    }
    if (last < 0) {
      response.push(...this.options);
      return;
    }
    const missing = this.options.filter((_, i) => !present!.has(this.#keys[i]));
    response.splice(last + 1, 0, ...missing);
  }
}
