/**
 * Static assignment section types: static-csv and static-sqlite, and the lifetime keys every
 * static section (also `<static-postgresql>`) has.
 *
 * @module
 */

import {
  type ConfigSection,
  defineSection,
  duration,
  existingFile,
  type KeySpec,
  percentage,
  type SectionChecker,
} from "../../config/mod.ts";

/** Values of `<static-csv FILE>` and `<static-sqlite FILE>`. */
export interface StaticAssignmentValues extends LifetimeValues {
  /** Absolute path of the assignments file. */
  path: string;
  /** Largest share of rows (0.0-1.0) a file may lose or have unusable before it is refused. */
  maxRowLoss: number;
}

/** The default of `max-row-loss`: the 30 % rule of `build-sqlite`. */
export const DEFAULT_MAX_ROW_LOSS = 0.3;

/** The `max-row-loss` key of the file-backed static sections. */
export const maxRowLossKey: KeySpec = {
  name: "max-row-loss",
  type: percentage,
  default: DEFAULT_MAX_ROW_LOSS,
  defaultText: "30%",
  description: "Refuse the file when it looks broken: when it has no usable rows, when more " +
    "than this share of its rows cannot be used (CSV), or when a reload finds this much fewer " +
    "assignments than the table in use. A refused file stops the server from starting; at a " +
    "reload the table in use keeps serving and `dhcpkit ctl reload` answers FAILED with the " +
    "reason. `100%` turns the share checks off (an empty file is still refused).",
  example: "50%",
};

const lifetime = duration({ infinity: true });

/** The four lifetime keys of assignment sections (static, RADIUS), in seconds. */
export interface LifetimeValues {
  /** Preferred lifetime of assigned addresses, in seconds. */
  addressPreferredLifetime: number;
  /** Valid lifetime of assigned addresses, in seconds. */
  addressValidLifetime: number;
  /** Preferred lifetime of delegated prefixes, in seconds. */
  prefixPreferredLifetime: number;
  /** Valid lifetime of delegated prefixes, in seconds. */
  prefixValidLifetime: number;
}

/** The keys of {@link LifetimeValues}, with their defaults and descriptions. */
export const lifetimeKeys: readonly KeySpec[] = [
  {
    name: "address-preferred-lifetime",
    type: lifetime,
    default: 7 * 86400,
    defaultText: "7d",
    description: "How long clients should prefer an assigned address for new connections. " +
      "After this the address still works but is deprecated.",
    example: "1d",
  },
  {
    name: "address-valid-lifetime",
    type: lifetime,
    default: 30 * 86400,
    defaultText: "30d",
    description: "How long an assigned address may be used at all.",
    example: "7d",
  },
  {
    name: "prefix-preferred-lifetime",
    type: lifetime,
    default: 7 * 86400,
    defaultText: "7d",
    description: "Preferred lifetime of delegated prefixes; the client router passes it on " +
      "in its own announcements.",
    example: "3d",
  },
  {
    name: "prefix-valid-lifetime",
    type: lifetime,
    default: 30 * 86400,
    defaultText: "30d",
    description: "Valid lifetime of delegated prefixes.",
    example: "30d",
  },
];

/** Check that no preferred lifetime is longer than its valid lifetime. */
export function checkLifetimes(
  section: ConfigSection<LifetimeValues>,
  check: SectionChecker,
): void {
  const v = section.values;
  if (v.addressPreferredLifetime > v.addressValidLifetime) {
    check.error("address-preferred-lifetime must not be longer than address-valid-lifetime");
  }
  if (v.prefixPreferredLifetime > v.prefixValidLifetime) {
    check.error("prefix-preferred-lifetime must not be longer than prefix-valid-lifetime");
  }
}

/** The sentence on lifetime syntax that ends the description of assignment sections. */
export const lifetimeSyntax =
  " Lifetimes are seconds, or use the suffixes `s`, `m`, `h`, `d` and `w`.";

/** `<static-csv FILE>` handler. */
export const staticCsvSection = defineSection<StaticAssignmentValues>({
  type: "static-csv",
  kind: "handler",
  description: "Assigns fixed addresses and prefixes listed in a CSV file, named by the " +
    "section (relative to the configuration file's folder). The file starts with a header " +
    "line and needs the columns `id`, `address` and `prefix`; other columns are ignored.\n\n" +
    "The `id` says how a client is recognised: `duid:HEX`, `interface-id:HEX`, " +
    "`interface-id-str:TEXT`, `remote-id:ENTERPRISE:HEX`, `remote-id-str:ENTERPRISE:TEXT`, " +
    "`subscriber-id:HEX`, `subscriber-id-str:TEXT`, `linklayer-id:HWTYPE:HEX` or " +
    "`linklayer-id-str:HWTYPE:TEXT`. Interface, remote, subscriber and link-layer ids come from " +
    "the relay closest to the client. `address` holds one IPv6 address and `prefix` one prefix; " +
    "either may be empty. The whole file is read at start-up and at every reload; a file that " +
    "looks broken (see `max-row-loss`) is refused." + lifetimeSyntax,
  example: [
    "<static-csv assignments.csv>",
    "    address-preferred-lifetime 1d",
    "    address-valid-lifetime 7d",
    "    prefix-preferred-lifetime 3d",
    "    prefix-valid-lifetime 30d",
    "</static-csv>",
  ].join("\n"),
  name: {
    type: existingFile,
    required: true,
    property: "path",
    description: "The CSV file with the assignments.",
  },
  keys: [...lifetimeKeys, maxRowLossKey],
  validate: checkLifetimes,
});

/** `<static-sqlite FILE>` handler. */
export const staticSqliteSection = defineSection<StaticAssignmentValues>({
  type: "static-sqlite",
  kind: "handler",
  description: "Assigns fixed addresses and prefixes stored in an SQLite database named by the " +
    "section. The database has a table `assignments` with text columns `id`, `address` and " +
    "`prefix`, filled like the columns of `<static-csv>`; `dhcpkit build-sqlite` converts a " +
    "CSV file into such a database. Rows are looked up per request, so the database can be " +
    "updated while the server runs and large sets need no memory. At start-up and at every " +
    "reload the rows are counted; an empty, damaged or shrunken database is refused (see " +
    "`max-row-loss`)." + lifetimeSyntax,
  example: [
    "<static-sqlite assignments.sqlite>",
    "    address-preferred-lifetime 1d",
    "    address-valid-lifetime 7d",
    "</static-sqlite>",
  ].join("\n"),
  name: {
    type: existingFile,
    required: true,
    property: "path",
    description: "The SQLite database with the assignments.",
  },
  keys: [...lifetimeKeys, maxRowLossKey],
  validate: checkLifetimes,
});
