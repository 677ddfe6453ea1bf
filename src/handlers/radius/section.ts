/**
 * The `<radius-assignments>` handler section.
 * @module
 */

import { hostname } from "node:os";
import {
  boolean,
  choice,
  ConfigValueError,
  type DataType,
  dataType,
  defineSection,
  existingFile,
  integer,
  seconds,
  text,
} from "../../config/mod.ts";
import { isIPv6, normalizeIPv6 } from "../../protocol/mod.ts";
import {
  checkLifetimes,
  lifetimeKeys,
  lifetimeSyntax,
  type LifetimeValues,
} from "../static/section.ts";
import { USER_NAME_KINDS, type UserNameKind } from "./query.ts";

/** The default RADIUS authentication port. */
export const DEFAULT_RADIUS_PORT = 1812;

/** A configured server: where to send and how it is named. */
export interface RadiusServerSpec {
  /** IP address (canonical text) or host name. */
  readonly host: string;
  /** UDP port. */
  readonly port: number;
  /** `HOST:PORT` as shown in statistics and logs (IPv6 in brackets). */
  readonly label: string;
}

/** An IP address literal in canonical form, or undefined when `text` is not one. */
export function ipLiteral(text: string): string | undefined {
  if (IPV4_RE.test(text)) return text;
  if (text.includes(":") && isIPv6(text)) return normalizeIPv6(text);
  return undefined;
}

/** Dotted-quad IPv4 text, each part 0-255 without leading zeros. */
const IPV4_RE = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

const HOST_NAME_RE =
  /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i;

function fail(message: string): never {
  throw new ConfigValueError(message);
}

/** `HOST[:PORT]`: an IPv4 address, `[IPv6]` (a bare IPv6 address takes no port) or a name. */
export const radiusServer: DataType<RadiusServerSpec> = dataType(
  "RADIUS server",
  (t) => {
    let host = t, portText: string | undefined;
    const bracket = /^\[([^\]]+)\](?::(.*))?$/.exec(t);
    if (bracket) {
      host = bracket[1];
      portText = bracket[2];
      if (!ipLiteral(host)?.includes(":")) fail(`\`${host}\` in brackets is not an IPv6 address`);
    } else if ((t.match(/:/g) ?? []).length === 1) {
      [host, portText] = t.split(":");
    }
    let port = DEFAULT_RADIUS_PORT;
    if (portText !== undefined) {
      if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
        fail(`\`${portText}\` is not a port number (1-65535)`);
      }
      port = Number(portText);
    }
    const literal = ipLiteral(host);
    if (!literal && (host.includes(":") || !HOST_NAME_RE.test(host) || /^[\d.]+$/.test(host))) {
      fail(`\`${t}\` is not an IP address or host name with an optional :PORT`);
    }
    const shown = literal ?? host.toLowerCase();
    return {
      host: shown,
      port,
      label: `${shown.includes(":") ? `[${shown}]` : shown}:${port}`,
    };
  },
  "`HOST` or `HOST:PORT`: an IPv4 address, a host name or an IPv6 address in brackets " +
    "(`[2001:db8::1812]:1812`; a bare IPv6 address takes the default port 1812)",
);

/** An IPv4 or IPv6 address, in canonical form. */
export const ipAddress: DataType<string> = dataType("IP address", (t) => {
  return ipLiteral(t) ?? fail(`\`${t}\` is not an IPv4 or IPv6 address`);
}, "an IPv4 or IPv6 address");

/** Values of `<radius-assignments>`. */
export interface RadiusValues extends LifetimeValues {
  /** The servers, in the order they are tried. */
  servers: RadiusServerSpec[];
  /** The shared secret, when given in the file. */
  secret?: string;
  /** A file holding the shared secret. */
  secretFile?: string;
  /** Where the User-Name comes from, first present wins. */
  userName: UserNameKind[];
  /** The User-Password. */
  password: string;
  /** Seconds per try. */
  timeout: number;
  /** Tries after the first, per server. */
  retries: number;
  /** Seconds a server that left an exchange unanswered is tried last. */
  deadTime: number;
  /** Seconds an answer is reused. */
  cacheTtl: number;
  /** Most answers kept. */
  cacheSize: number;
  /** Drop answers without a Message-Authenticator. */
  requireMessageAuthenticator: boolean;
  /** NAS-Identifier. */
  nasIdentifier: string;
  /** NAS-IP-Address or NAS-IPv6-Address, when given. */
  nasAddress?: string;
}

/** `<radius-assignments>` handler. */
export const radiusAssignmentsSection = defineSection<RadiusValues>({
  type: "radius-assignments",
  kind: "handler",
  description: "Asks a RADIUS server (the subscriber database the access network already " +
    "uses, e.g. FreeRADIUS) which address and prefix a client gets. For every request with an " +
    "IA_NA or IA_PD the server receives an Access-Request whose User-Name identifies the " +
    "client (see `user-name`); an Access-Accept's `Framed-IPv6-Address` becomes the address, " +
    "its `Delegated-IPv6-Prefix` the delegated prefix and its `DNS-Server-IPv6-Address` values " +
    "the recursive name servers (option 23); a `Session-Timeout` caps the valid lifetimes. " +
    "What the answer lacks, and everything after an Access-Reject, is left to the handlers " +
    "that follow (in the end: NoAddrsAvail or NoPrefixAvail). `Framed-IPv6-Prefix` is not an " +
    "assignment and is ignored.\n\n" +
    "When no server answers within the tries, the request gets no answer at all (the client " +
    "will ask again), counted as `radius_timeouts`. Answers are reused for `cache-ttl` " +
    "seconds, and requests asking the same while an exchange is in flight wait for it. Each " +
    "worker has its own cache and sockets. Requests carry a Message-Authenticator, and " +
    "answers are checked against the shared secret; answers that fail are counted and " +
    "dropped. Accounting is not sent." + lifetimeSyntax,
  example: [
    "<radius-assignments>",
    "    server 192.0.2.18",
    "    server [2001:db8::18]:1812",
    "    secret-file radius-secret",
    "    user-name remote-id",
    "    user-name duid",
    "    password dhcpkit",
    "    cache-ttl 60",
    "</radius-assignments>",
  ].join("\n"),
  keys: [
    {
      name: "server",
      property: "servers",
      type: radiusServer,
      multiple: true,
      required: true,
      description: "A RADIUS server, `HOST[:PORT]` (port 1812 when not given). Give several " +
        "for fail-over: they are tried in order, the next one when a server does not answer " +
        "within its tries.",
      example: "[2001:db8::18]:1812",
    },
    {
      name: "secret",
      type: text,
      description: "The shared secret. It is never logged; prefer `secret-file` so the " +
        "configuration file can be readable by others.",
      example: "s3cr3t",
    },
    {
      name: "secret-file",
      type: existingFile,
      description: "A file whose first line is the shared secret (read at start-up and at " +
        "every reload). Give either this or `secret`.",
      example: "/etc/dhcpkit/radius-secret",
    },
    {
      name: "user-name",
      type: choice("user-name source", USER_NAME_KINDS),
      multiple: true,
      default: ["duid"],
      description: "What the User-Name is made of; give several in order of preference, the " +
        "first the request has wins. `duid`: the client's DUID in lower-case hex. " +
        "`remote-id`, `interface-id`, `subscriber-id`: that option of the relay closest to the " +
        "client, as text when it is printable ASCII, else lower-case hex (the remote-id's " +
        "enterprise number is not part of it). `linklayer-id`: the client's link-layer " +
        "address from the relay, as `aa:bb:cc:dd:ee:ff`. A request without any of them is " +
        "not sent to RADIUS and gets no assignment here. Clients that talk to the server " +
        "directly have no relay options.",
      example: "remote-id",
    },
    {
      name: "password",
      type: text,
      default: "",
      description: "The User-Password sent with every request (PAP). FreeRADIUS refuses an " +
        "empty password under PAP, so give one and set it as `Cleartext-Password` in the " +
        "users file, or let the users file accept without a password (`Auth-Type := Accept`).",
      example: "dhcpkit",
    },
    {
      name: "timeout",
      type: seconds,
      default: 0.3,
      description: "Seconds to wait for an answer to each try. Keep `timeout` × (`retries` + " +
        "1) below the server's `lookup-timeout`, or requests are dropped before the next " +
        "server is asked (its answer is still cached for the client's next try).",
      example: "0.5",
    },
    {
      name: "retries",
      type: integer(0, 10),
      default: 1,
      description: "How many times a request is sent again to the same server before the next " +
        "server is tried.",
      example: "2",
    },
    {
      name: "dead-time",
      type: seconds,
      default: 30,
      description: "Seconds a server that did not answer is tried only after the others, so " +
        "that requests do not wait for it in the meantime.",
      example: "60",
    },
    {
      name: "cache-ttl",
      type: seconds,
      default: 60,
      description: "Seconds an answer (accept or reject) is reused for requests that ask the " +
        "same (same User-Name, DUID and Interface-ID); `0` asks the server every time.",
      example: "300",
    },
    {
      name: "cache-size",
      type: integer(0, 10_000_000),
      default: 100_000,
      description: "Most answers kept per worker; the oldest go first.",
      example: "1000000",
    },
    {
      name: "require-message-authenticator",
      type: boolean,
      default: false,
      description: "Take only answers that carry a Message-Authenticator (RFC 3579), the " +
        "BlastRADIUS protection on the answer side. FreeRADIUS adds one from version 3.2.5 on " +
        "(older versions do not, so leave this off for them). A Message-Authenticator that is " +
        "present is always checked.",
      example: "yes",
    },
    {
      name: "nas-identifier",
      type: text,
      defaultFrom: () => hostname(),
      defaultText: "the host name",
      description: "The NAS-Identifier sent with every request.",
      example: "dhcpkit-1",
    },
    {
      name: "nas-address",
      type: ipAddress,
      description: "Sent as NAS-IPv6-Address (or NAS-IP-Address for an IPv4 address). When " +
        "not given, each server gets an address of this host of its own family: the loopback " +
        "address for a server on loopback, else the first global address found.",
      example: "2001:db8::547",
    },
    ...lifetimeKeys,
  ],
  validate: (section, check) => {
    const v = section.values;
    if ((v.secret === undefined) === (v.secretFile === undefined)) {
      check.error("give the shared secret with either `secret` or `secret-file`");
    }
    if (new TextEncoder().encode(v.password).length > 128) {
      check.error("password is longer than 128 bytes", section.keyLines["password"]);
    }
    if (v.timeout <= 0) check.error("timeout must be more than 0", section.keyLines["timeout"]);
    const seen = new Set<string>();
    for (const s of v.servers) {
      if (seen.has(s.label)) check.error(`server ${s.label} is given twice`);
      seen.add(s.label);
    }
    checkLifetimes(section, check);
  },
});
