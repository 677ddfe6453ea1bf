/**
 * Filter section types: elapsed-time, marked-with, subnet and subnet-group.
 *
 * @module
 */

import {
  choice,
  type ConfigSection,
  type ContainsSpec,
  defineSection,
  duration,
  type IPv6Prefix,
  ipv6Prefix,
  mark,
} from "../../config/mod.ts";

const filterContents: ContainsSpec[] = [{ kind: "filter" }, { kind: "handler" }];

/** Values of `<elapsed-time>`. */
export interface ElapsedTimeValues {
  /** Match when the client has been trying for more than this many seconds. */
  moreThan?: number;
  /** Match when the client has been trying for less than this many seconds. */
  lessThan?: number;
}

/** Values of `<marked-with MARK>`. */
export interface MarkedWithValues {
  /** The mark a request must carry. */
  mark: string;
}

/** Values of `<subnet PREFIX>`. */
export interface SubnetValues {
  /** The prefix the link address must be in. */
  prefix: IPv6Prefix;
}

/** Values of `<subnet-group>`. */
export interface SubnetGroupValues {
  /** Prefixes one of which must contain the link address. */
  prefixes: IPv6Prefix[];
  /** `inside`: match when a prefix contains the link address; `outside`: when none does. */
  match: "inside" | "outside";
}

/** `<elapsed-time>` filter. */
export const elapsedTimeSection = defineSection<ElapsedTimeValues>({
  type: "elapsed-time",
  kind: "filter",
  description: "Applies what it contains only to requests whose Elapsed Time option lies " +
    "within the given bounds; requests without that option never match. Give `more-than`, " +
    "`less-than` or both.\n\nThis allows a simple standby setup: a second server ignores " +
    "Solicits with a short elapsed time, so it only answers clients that the first server " +
    "left waiting.",
  example: [
    "<elapsed-time>",
    "    less-than 30s",
    "    <ignore-request>",
    "        message-type solicit",
    "    </ignore-request>",
    "</elapsed-time>",
  ].join("\n"),
  keys: [
    {
      name: "more-than",
      type: duration(),
      description: "Match only when the client has been trying for longer than this. Seconds, " +
        "or with suffix `s`, `m`, `h`, `d`.",
      example: "30s",
    },
    {
      name: "less-than",
      type: duration(),
      description: "Match only when the client has been trying for less time than this. " +
        "Seconds, or with suffix `s`, `m`, `h`, `d`.",
      example: "1m",
    },
  ],
  contains: filterContents,
  validate(section: ConfigSection<ElapsedTimeValues>, check) {
    const { moreThan, lessThan } = section.values;
    if (moreThan === undefined && lessThan === undefined) {
      check.error("<elapsed-time> needs `more-than`, `less-than` or both");
    } else if (moreThan !== undefined && lessThan !== undefined && lessThan <= moreThan) {
      check.error(
        `less-than (${lessThan}s) must be more than more-than (${moreThan}s), or nothing matches`,
      );
    }
  },
});

/** `<marked-with MARK>` filter. */
export const markedWithSection = defineSection<MarkedWithValues>({
  type: "marked-with",
  kind: "filter",
  description: "Applies what it contains only to requests that carry the mark given as the " +
    "section name. Listeners set marks with their `mark` key.",
  example: ["<marked-with office>", "    <ignore-request/>", "</marked-with>"].join("\n"),
  name: { type: mark, required: true, property: "mark", description: "The mark to look for." },
  keys: [],
  contains: filterContents,
});

/** `<subnet PREFIX>` filter. */
export const subnetSection = defineSection<SubnetValues>({
  type: "subnet",
  kind: "filter",
  description: "Applies what it contains only to requests whose link address (from the relay, " +
    "or the listener's `link-address`) lies in the prefix given as the section name.",
  example: ["<subnet 2001:db8:dead::/48>", "    <ignore-request/>", "</subnet>"].join("\n"),
  name: {
    type: ipv6Prefix(),
    required: true,
    property: "prefix",
    description: "The IPv6 prefix; no bits may be set after the prefix length.",
  },
  keys: [],
  contains: filterContents,
});

/** `<subnet-group>` filter. */
export const subnetGroupSection = defineSection<SubnetGroupValues>({
  type: "subnet-group",
  kind: "filter",
  description: "Like `<subnet>`, for several prefixes at once: what it contains applies when " +
    "the link address lies in any of them. With `match outside` it is the other way round: " +
    "what it contains applies when the link address lies in none of them, which is how to " +
    "drop requests from every link the server does not serve (a handler at the top level " +
    "applies to every request, also to those a filter matched).",
  example: [
    "<subnet-group>",
    "    prefix 2001:db8:dead::/48",
    "    prefix 2001:db8:beef::/48",
    "    <ignore-request/>",
    "</subnet-group>",
  ].join("\n"),
  keys: [{
    name: "prefix",
    property: "prefixes",
    type: ipv6Prefix(),
    required: true,
    multiple: true,
    description: "A prefix the link address may be in. Give it once per prefix.",
    example: "2001:db8:1:2::/64",
  }, {
    name: "match",
    type: choice("match", ["inside", "outside"] as const),
    default: "inside",
    description: "`inside`: match requests whose link address lies in one of the prefixes. " +
      "`outside`: match requests whose link address lies in none of them.",
    example: "outside",
  }],
  contains: filterContents,
});
