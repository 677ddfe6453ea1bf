/**
 * The DHCPv6 wire-protocol library: pure (no I/O, configuration or logging), total on hostile
 * input (parsing throws only {@link ParseError}), with registries that extensions add to.
 * @module
 */

export * from "./errors.ts";
export * from "./constants.ts";
export * from "./bytes.ts";
export * from "./ipv6.ts";
export * from "./option.ts";
export * from "./occurrence.ts";
export * from "./message.ts";
export * from "./messages.ts";
export * from "./duid.ts";
export * from "./domain.ts";
export * from "./names.ts";
export * from "./prefix.ts";
export * from "./json.ts";
export * from "./options/all.ts";
