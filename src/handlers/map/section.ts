/**
 * MAP section types (RFC 7598): map-e, map-t and the map-rule sections inside them.
 *
 * @module
 */

import {
  alwaysSendKey,
  boolean,
  type ConfigSection,
  defineSection,
  type IPv4Prefix,
  ipv4Prefix,
  type IPv6Address,
  ipv6Address,
  type IPv6Prefix,
  ipv6Prefix,
  type OptionHandlerValues,
  powerOfTwo,
} from "../../config/mod.ts";

/** Values of `<map-rule>`. */
export interface MapRuleValues {
  /** IPv6 prefix of the MAP domain's customers. */
  ipv6Prefix: IPv6Prefix;
  /** IPv4 prefix shared by those customers. */
  ipv4Prefix: IPv4Prefix;
  /** Number of contiguous ports per customer (power of 2). */
  contiguousPorts: number;
  /** Number of customers per IPv4 address (power of 2). */
  sharingRatio: number;
  /** True for a Forwarding Mapping Rule, false for a Basic Mapping Rule only. */
  forwardingMapping: boolean;
  /** Embedded-address bits: (32 - IPv4 prefix length) + log2(sharing ratio). */
  eaLength: number;
  /** PSID offset: 16 - log2(sharing ratio) - log2(contiguous ports). */
  psidOffset: number;
}

/** Values of `<map-e>`. */
export interface MapEValues extends OptionHandlerValues {
  /** Border relay addresses. */
  brAddresses: IPv6Address[];
}

/** Values of `<map-t>`. */
export interface MapTValues extends OptionHandlerValues {
  /** Default mapping rule prefix (/64). */
  defaultMapping: IPv6Prefix;
}

/** `<map-rule>` section. */
export const mapRuleSection = defineSection<MapRuleValues>({
  type: "map-rule",
  kind: "map-rule",
  description: "One MAP mapping rule. It maps customers of an IPv6 prefix onto shared IPv4 " +
    "addresses: each IPv4 address of `ipv4-prefix` is shared by `sharing-ratio` customers, each " +
    "getting blocks of `contiguous-ports` ports. The embedded-address bits " +
    "(32 − IPv4 prefix length + log2 of the sharing ratio) added to the IPv6 prefix length " +
    "may not exceed 64.",
  example: [
    "<map-rule>",
    "    ipv6-prefix 2001:db8:f000::/36",
    "    ipv4-prefix 192.0.2.0/24",
    "    contiguous-ports 64",
    "    sharing-ratio 16",
    "    forwarding-mapping yes",
    "</map-rule>",
  ].join("\n"),
  keys: [
    {
      name: "ipv6-prefix",
      type: ipv6Prefix(),
      required: true,
      description: "The IPv6 prefix the MAP customers' prefixes come from.",
      example: "2001:db8:f000::/36",
    },
    {
      name: "ipv4-prefix",
      type: ipv4Prefix,
      required: true,
      description: "The IPv4 addresses the customers share.",
      example: "192.0.2.0/24",
    },
    {
      name: "contiguous-ports",
      type: powerOfTwo(1, 65536),
      required: true,
      description: "Size of each block of consecutive ports, a power of 2. Sets the number of " +
        "bits after the PSID.",
      example: "64",
    },
    {
      name: "sharing-ratio",
      type: powerOfTwo(1, 65536),
      required: true,
      description: "How many customers share one IPv4 address, a power of 2. Sets the PSID " +
        "length.",
      example: "16",
    },
    {
      name: "forwarding-mapping",
      type: boolean,
      default: false,
      description: "Whether the rule is also a Forwarding Mapping Rule (FMR) instead of only a " +
        "Basic Mapping Rule (BMR).",
      example: "yes",
    },
  ],
  validate(section: ConfigSection<MapRuleValues>, check) {
    const v = section.values;
    const k = Math.log2(v.sharingRatio);
    const m = Math.log2(v.contiguousPorts);
    const offset = 16 - k - m;
    if (offset < 0) {
      check.error(
        `sharing-ratio ${v.sharingRatio} × contiguous-ports ${v.contiguousPorts} exceeds the ` +
          `65536 available ports`,
      );
      return;
    }
    const ea = 32 - v.ipv4Prefix.length + k;
    if (v.ipv6Prefix.length + ea > 64) {
      check.error(
        `ipv6-prefix length ${v.ipv6Prefix.length} plus ${ea} embedded-address bits ` +
          `(32 - ${v.ipv4Prefix.length} + ${k}) is ${v.ipv6Prefix.length + ea}, more than 64`,
      );
      return;
    }
    v.eaLength = ea;
    v.psidOffset = offset;
  },
});

/** `<map-e>` handler. */
export const mapESection = defineSection<MapEValues>({
  type: "map-e",
  kind: "handler",
  description: "Sends a MAP-E configuration (option 94): the mapping rules inside the section " +
    "and the border relays to tunnel to.",
  example: [
    "<map-e>",
    "    br-address 2001:db8::1",
    "    <map-rule>",
    "        ipv6-prefix 2001:db8:f000::/36",
    "        ipv4-prefix 192.0.2.0/24",
    "        contiguous-ports 64",
    "        sharing-ratio 16",
    "    </map-rule>",
    "</map-e>",
  ].join("\n"),
  keys: [alwaysSendKey, {
    name: "br-address",
    property: "brAddresses",
    type: ipv6Address("routable"),
    required: true,
    multiple: true,
    description: "IPv6 address of a border relay that connects MAP customers to IPv4 " +
      "destinations outside the mapping rules.",
    example: "2001:db8::1",
  }],
  contains: [{ kind: "map-rule", min: 1 }],
});

/** `<map-t>` handler. */
export const mapTSection = defineSection<MapTValues>({
  type: "map-t",
  kind: "handler",
  description: "Sends a MAP-T configuration (option 95): the mapping rules inside the section " +
    "and the default mapping prefix for IPv4 destinations outside them.",
  example: [
    "<map-t>",
    "    default-mapping 2001:db8:0:1::/64",
    "    <map-rule>",
    "        ipv6-prefix 2001:db8:9500::/40",
    "        ipv4-prefix 198.51.100.0/24",
    "        contiguous-ports 4",
    "        sharing-ratio 256",
    "    </map-rule>",
    "</map-t>",
  ].join("\n"),
  keys: [alwaysSendKey, {
    name: "default-mapping",
    type: ipv6Prefix({ minLength: 64, maxLength: 64 }),
    required: true,
    description: "The /64 through which IPv4 destinations outside the mapping rules are " +
      "reached (Default Mapping Rule).",
    example: "2001:db8:0:1::/64",
  }],
  contains: [{ kind: "map-rule", min: 1 }],
});
