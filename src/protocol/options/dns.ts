/**
 * DNS configuration options of RFC 3646: Recursive Name Servers (23) and Domain Search List (24),
 * plus the domain-name check the other name-carrying extension options share.
 * @module
 */

import { ValidationError } from "../errors.ts";
import { allowInMessage } from "../occurrence.ts";
import { registerOption } from "../option.ts";
import {
  AddressListOption,
  checkRoutable,
  CONFIGURATION_MESSAGES,
  DomainListOption,
  parseAddressList,
  parseDomainListData,
} from "./base.ts";

/**
 * Throw a {@link ValidationError} unless `name` (ASCII, labels joined by dots, no trailing dot)
 * encodes as a DNS wire name: labels of 1 to 63 printable non-space characters, 255 bytes in all.
 * The empty string (the root name) is accepted only with `allowRoot`.
 */
export function checkDomainName(name: string, what: string, allowRoot = false): void {
  if (typeof name !== "string") throw new ValidationError(`${what} is not a string`);
  const trimmed = name.endsWith(".") ? name.slice(0, -1) : name;
  if (trimmed === "") {
    if (allowRoot) return;
    throw new ValidationError(`${what} is empty`);
  }
  let wireLength = 1;
  for (const label of trimmed.split(".")) {
    if (label.length < 1 || label.length > 63) {
      throw new ValidationError(
        `${what} ${JSON.stringify(name)} has a label of ${label.length} characters`,
      );
    }
    if (!/^[\x21-\x7e]*$/.test(label)) {
      throw new ValidationError(`${what} ${JSON.stringify(name)} is not ASCII (use its xn-- form)`);
    }
    wireLength += 1 + label.length;
  }
  if (wireLength > 255) {
    throw new ValidationError(`${what} ${JSON.stringify(name)} is longer than 255 bytes`);
  }
}

/** Recursive DNS Name Servers (23): IPv6 addresses of recursive resolvers. */
export class RecursiveNameServersOption extends AddressListOption {
  /** Option code. */
  static readonly code = 23;
  /** Option name. */
  static readonly optionName = "recursive-name-servers";
  /** Parse the option data (a whole number of 16-byte addresses). */
  static parse(buf: Uint8Array, start: number, end: number): RecursiveNameServersOption {
    return new RecursiveNameServersOption(
      parseAddressList(buf, start, end, "recursive-name-servers"),
    );
  }

  /** Every address must be routable. */
  override validate(): void {
    for (const a of this.addresses) checkRoutable(a, "recursive name server");
  }
}

/** Domain Search List (24): absolute domain names, in DNS wire format without compression. */
export class DomainSearchListOption extends DomainListOption {
  /** Option code. */
  static readonly code = 24;
  /** Option name. */
  static readonly optionName = "domain-search-list";
  /** Parse the option data; every name must end with the root label. */
  static parse(buf: Uint8Array, start: number, end: number): DomainSearchListOption {
    return new DomainSearchListOption(parseDomainListData(buf, start, end));
  }

  /** Every name must be a valid, non-root domain name. */
  override validate(): void {
    for (const n of this.domainNames) checkDomainName(n, "domain search list entry");
  }
}

registerOption(RecursiveNameServersOption);
registerOption(DomainSearchListOption);

// RFC 3646 §3, §4: only in messages that carry configuration.
for (const code of [23, 24]) allowInMessage(CONFIGURATION_MESSAGES, code);
