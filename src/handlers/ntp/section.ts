/**
 * NTP handler section type: ntp-servers (RFC 5908).
 *
 * @module
 */

import {
  alwaysSendKey,
  type ConfigSection,
  defineSection,
  domainName,
  type IPv6Address,
  ipv6Address,
  type OptionHandlerValues,
} from "../../config/mod.ts";

/** Values of `<ntp-servers>`. */
export interface NtpServersValues extends OptionHandlerValues {
  /** Server host names (ASCII form). */
  serverFqdns: string[];
  /** Server unicast addresses. */
  serverAddresses: IPv6Address[];
  /** Multicast addresses to listen to for time. */
  multicastAddresses: IPv6Address[];
}

/** `<ntp-servers>` handler. */
export const ntpServersSection = defineSection<NtpServersValues>({
  type: "ntp-servers",
  kind: "handler",
  description: "Tells clients which NTP time sources to use (option 56, one option per source). " +
    "Sources can be given by name, by unicast address or as a multicast group; at least one is " +
    "needed. Several applicable sections are merged.",
  example: [
    "<ntp-servers>",
    "    server-fqdn time.example.org",
    "    server-address 2001:db8::123",
    "    multicast-address ff08::101",
    "</ntp-servers>",
  ].join("\n"),
  keys: [
    alwaysSendKey,
    {
      name: "server-fqdn",
      property: "serverFqdns",
      type: domainName,
      multiple: true,
      default: [],
      description: "Host name of an NTP server.",
      example: "time.example.org",
    },
    {
      name: "server-address",
      property: "serverAddresses",
      type: ipv6Address("routable"),
      multiple: true,
      default: [],
      description: "Routable unicast address of an NTP server.",
      example: "2001:db8::123",
    },
    {
      name: "multicast-address",
      property: "multicastAddresses",
      type: ipv6Address("multicast"),
      multiple: true,
      default: [],
      description: "Multicast group on which NTP time is announced.",
      example: "ff08::101",
    },
  ],
  validate(section: ConfigSection<NtpServersValues>, check) {
    const v = section.values;
    if (v.serverFqdns.length + v.serverAddresses.length + v.multicastAddresses.length === 0) {
      check.error(
        "<ntp-servers> needs at least one server-fqdn, server-address or multicast-address",
      );
    }
  },
});
