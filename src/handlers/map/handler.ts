/**
 * Handlers for `<map-e>` (option 94) and `<map-t>` (option 95): Softwire46 containers (RFC 7598)
 * built once from the configured `<map-rule>` sections. Added when absent, so the most specific
 * scope wins.
 * @module
 */

import { SimpleOptionHandler } from "../../pipeline/mod.ts";
import {
  formatIPv6,
  maskBytes,
  S46BROption,
  S46DMROption,
  S46MapEContainerOption,
  S46MapTContainerOption,
  S46PortParametersOption,
  S46RuleOption,
} from "../../protocol/mod.ts";

/** A prefix as configured: network bytes and length. */
export interface MapPrefix {
  /** Prefix bytes (16 for IPv6, 4 for IPv4); bits past the length are ignored. */
  readonly bytes: Uint8Array;
  /** Prefix length. */
  readonly length: number;
}

/** One mapping rule as configured. */
export interface MapRule {
  /** IPv6 prefix of the MAP domain's customers. */
  readonly ipv6Prefix: MapPrefix;
  /** IPv4 prefix the customers share. */
  readonly ipv4Prefix: MapPrefix;
  /** Consecutive ports per block (power of 2). */
  readonly contiguousPorts: number;
  /** Customers per IPv4 address (power of 2). */
  readonly sharingRatio: number;
  /** Also a Forwarding Mapping Rule (F flag). */
  readonly forwardingMapping?: boolean;
}

function ipv6Text(prefix: MapPrefix): string {
  return formatIPv6(maskBytes(prefix.bytes, prefix.length));
}

function ipv4Text(prefix: MapPrefix): string {
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const bits = Math.min(8, Math.max(0, prefix.length - i * 8));
    out[i] = prefix.bytes[i] & ((0xff << (8 - bits)) & 0xff);
  }
  return out.join(".");
}

/**
 * Build the S46 Rule option of a mapping rule: k = log2(sharing ratio), m = log2(contiguous
 * ports), EA-len = (32 − IPv4 prefix length) + k, and a Port Parameters option with
 * offset a = 16 − k − m, PSID-len 0 and PSID 0. Throws RangeError for impossible rules.
 */
export function buildS46Rule(rule: MapRule): S46RuleOption {
  const k = Math.log2(rule.sharingRatio);
  const m = Math.log2(rule.contiguousPorts);
  if (!Number.isInteger(k) || !Number.isInteger(m)) {
    throw new RangeError("sharing-ratio and contiguous-ports must be powers of 2");
  }
  const offset = 16 - k - m;
  if (offset < 0) throw new RangeError("sharing-ratio × contiguous-ports exceeds 65536 ports");
  const eaLen = 32 - rule.ipv4Prefix.length + k;
  if (rule.ipv6Prefix.length + eaLen > 64) {
    throw new RangeError("ipv6-prefix length plus embedded-address bits exceeds 64");
  }
  return new S46RuleOption(
    rule.forwardingMapping ? 1 : 0,
    eaLen,
    rule.ipv4Prefix.length,
    ipv4Text(rule.ipv4Prefix),
    rule.ipv6Prefix.length,
    ipv6Text(rule.ipv6Prefix),
    [new S46PortParametersOption(offset, 0, 0)],
  );
}

/** Adds a MAP-E container (94): the mapping rules, then the border relays. */
export class MapEOptionHandler extends SimpleOptionHandler<S46MapEContainerOption> {
  /** Create the handler from border relay addresses (IPv6 text) and rules. */
  constructor(brAddresses: readonly string[], rules: readonly MapRule[], alwaysSend = false) {
    super(
      new S46MapEContainerOption([
        ...rules.map(buildS46Rule),
        ...brAddresses.map((a) => new S46BROption(a)),
      ]),
      alwaysSend,
    );
  }
}

/** Adds a MAP-T container (95): the mapping rules, then the default mapping rule prefix. */
export class MapTOptionHandler extends SimpleOptionHandler<S46MapTContainerOption> {
  /** Create the handler from the default mapping prefix and rules. */
  constructor(defaultMapping: MapPrefix, rules: readonly MapRule[], alwaysSend = false) {
    super(
      new S46MapTContainerOption([
        ...rules.map(buildS46Rule),
        new S46DMROption(defaultMapping.length, ipv6Text(defaultMapping)),
      ]),
      alwaysSend,
    );
  }
}
