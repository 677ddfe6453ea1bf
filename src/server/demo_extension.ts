/**
 * The demo's own section type, `<demo-assignment>`: one client's fixed address and prefix, kept
 * in memory and handed out by the same handler as `<static-csv>`. It exists so that the embedded
 * demo (`dhcpkit serve --demo`) assigns something without a file of its own: the demo
 * configuration loads this module with its `extension` key, in the main thread and in every
 * worker. Nothing else installs it, so no other configuration knows the section type.
 * @module
 */

import {
  ConfigValueError,
  dataType,
  defineSection,
  type IPv6Address,
  ipv6Address,
  type IPv6Prefix,
  ipv6Prefix,
} from "../config/mod.ts";
import { defineExtension, handlerFor } from "../handlers/extension.ts";
import { StaticAssignmentHandler } from "../handlers/static/handler.ts";
import { AssignmentTableBuilder, CsvAssignmentSource } from "../handlers/static/csv/mod.ts";
import { AssignmentFormatError, canonicalId } from "../handlers/static/ids.ts";

/** Values of `<demo-assignment>`. */
export interface DemoAssignmentValues {
  /** The client, written like the `id` column of `<static-csv>` (`duid:HEX`, ...). */
  id: string;
  /** The address to assign. */
  address: IPv6Address;
  /** The prefix to delegate. */
  prefix: IPv6Prefix;
}

/** A client id as the `id` column of `<static-csv>` takes it. */
const clientId = dataType("client id", (text) => {
  try {
    canonicalId(text);
  } catch (e) {
    if (e instanceof AssignmentFormatError) throw new ConfigValueError(e.message);
    throw e;
  }
  return text;
}, "like the `id` column of `<static-csv>`: `duid:HEX`, `interface-id:HEX`, ...");

/** `<demo-assignment>`: the embedded demo's one static assignment. */
export const demoAssignmentSection = defineSection<DemoAssignmentValues>({
  type: "demo-assignment",
  kind: "handler",
  description: "Part of the embedded demo (`dhcpkit serve --demo`): assigns one client a fixed " +
    "address and prefix held in memory, with the default lifetimes of `<static-csv>`.",
  keys: [
    {
      name: "id",
      type: clientId,
      required: true,
      description: "The client, as in the `id` column of `<static-csv>`.",
      example: "duid:00030001020000000001",
    },
    {
      name: "address",
      type: ipv6Address("global-unicast"),
      required: true,
      description: "The address to assign.",
      example: "2001:db8::1:1",
    },
    {
      name: "prefix",
      type: ipv6Prefix(),
      required: true,
      description: "The prefix to delegate.",
      example: "2001:db8:1:100::/56",
    },
  ],
});

/** The lifetimes `<static-csv>` uses by default: 7 and 30 days. */
const LIFETIMES = {
  addressPreferredLifetime: 7 * 86400,
  addressValidLifetime: 30 * 86400,
  prefixPreferredLifetime: 7 * 86400,
  prefixValidLifetime: 30 * 86400,
};

/** The demo's extension: `<demo-assignment>` and its handler. */
export const demoExtension = defineExtension({
  name: "demo",
  handlers: [
    handlerFor(demoAssignmentSection, ({ id, address, prefix }, _ctx, section) => {
      const builder = new AssignmentTableBuilder();
      builder.add(canonicalId(id), section.line, address.text, prefix.text);
      const table = builder.build();
      return new StaticAssignmentHandler(
        LIFETIMES,
        () => new CsvAssignmentSource(`${section.file}:${section.line}`, table),
      );
    }),
  ],
});
