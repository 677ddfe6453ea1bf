/**
 * Keys shared by several section types.
 *
 * @module
 */

import {
  type AddressClass,
  boolean,
  domainName,
  integer,
  type IPv6Address,
  ipv6Address,
  mark,
} from "../datatypes.ts";
import type { KeySpec } from "../schema.ts";

/** `always-send`: for handlers that add an option, send it even when the client did not ask. */
export const alwaysSendKey: KeySpec<boolean> = {
  name: "always-send",
  type: boolean,
  default: false,
  description: "Add the option to every response, even when the client did not list it in its " +
    "Option Request option.",
  example: "yes",
};

/** `mark`: tags a listener puts on every request it receives. */
export const markKey: KeySpec<string> = {
  name: "mark",
  property: "marks",
  type: mark,
  multiple: true,
  default: ["unmarked"],
  description: "A tag attached to every request received by this listener. Use the " +
    "[marked-with](marked-with.md) filter to treat requests differently depending on where they " +
    "arrived. May be given more than once.",
  example: "relay-pool-1",
};

/** `port`: the UDP/TCP port a listener binds (547 unless testing without root). */
export const portKey: KeySpec<number> = {
  name: "port",
  type: integer(1, 65535, "port"),
  default: 547,
  description: "The port to listen on. DHCPv6 servers use 547; other ports are useful for tests " +
    "that run without root privileges.",
  example: "10547",
};

/**
 * `address`: the addresses an option-adding handler lists (property `addresses`), of class
 * `cls`; required, given once per address.
 */
export function addressListKey(
  cls: AddressClass,
  description: string,
  example: string,
): KeySpec<IPv6Address> {
  return {
    name: "address",
    property: "addresses",
    type: ipv6Address(cls),
    required: true,
    multiple: true,
    description,
    example,
  };
}

/**
 * `domain-name`: the domain names an option-adding handler lists (property `domainNames`);
 * required, given once per name.
 */
export function domainNameListKey(description: string, example: string): KeySpec<string> {
  return {
    name: "domain-name",
    property: "domainNames",
    type: domainName,
    required: true,
    multiple: true,
    description,
    example,
  };
}

/** Values every option-adding handler has. */
export interface OptionHandlerValues {
  /** Send the option even when the client did not request it. */
  alwaysSend: boolean;
}
