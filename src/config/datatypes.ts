/**
 * Value datatypes for configuration keys and section names. Each datatype turns the text from the
 * file into a typed value or throws a {@link ConfigValueError} saying what is wrong. Checks that
 * depend on the machine (interfaces, users, files) only run when `ctx.hostChecks` is true and are
 * flagged as host checks.
 *
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { domainToASCII } from "node:url";
import { lookupGroup, lookupUser } from "./accounts.ts";
import { ConfigValueError, didYouMean } from "./errors.ts";
import { hostInterfaces } from "./host_interfaces.ts";
import {
  addressKind,
  DUID_TIME_EPOCH,
  formatIPv6,
  INFINITY,
  IPv6Prefix,
  isIPv6,
  messageTypeFromName,
  messageTypesByName,
  optionCodeFromName,
  optionTypesByName,
  parseIPv6,
} from "../protocol/mod.ts";

// Defined by the protocol library; exported here too because durations and prefixes use them.
export { INFINITY, IPv6Prefix };

/** What a datatype may need to know besides the text. */
export interface ValueContext {
  /** Folder of the file the value was read from; relative paths are resolved against it. */
  readonly configDir: string;
  /** Whether to run checks against the host (interfaces, addresses, users, files). */
  readonly hostChecks: boolean;
}

/** A conversion from configuration text to a typed value. */
export interface DataType<T> {
  /** Short name shown in the generated documentation, e.g. `IPv6 address`. */
  readonly name: string;
  /** Optional longer explanation of the accepted syntax, for the documentation. */
  readonly syntax?: string;
  /** Convert the text; throws `ConfigValueError` when it is not acceptable. */
  parse(text: string, ctx: ValueContext): T;
}

/** An IPv6 address: canonical (RFC 5952) text and the 16 bytes. */
export interface IPv6Address {
  /** Canonical text form. */
  readonly text: string;
  /** The address in network byte order. */
  readonly bytes: Uint8Array;
}

/** An IPv4 prefix without host bits. */
export interface IPv4Prefix {
  /** Canonical `a.b.c.d/len` text. */
  readonly text: string;
  /** The 4 address bytes. */
  readonly bytes: Uint8Array;
  /** The prefix length, 0-32. */
  readonly length: number;
}

function fail(message: string, host = false): never {
  throw new ConfigValueError(message, host);
}

/** Build a datatype from a name and a parse function. */
export function dataType<T>(
  name: string,
  parse: (text: string, ctx: ValueContext) => T,
  syntax?: string,
): DataType<T> {
  return syntax === undefined ? { name, parse } : { name, parse, syntax };
}

// ---------------------------------------------------------------------------------------------
// Simple values

/** `yes`/`no`, `true`/`false`, `on`/`off` (any case). */
export const boolean: DataType<boolean> = dataType("boolean", (text) => {
  const t = text.toLowerCase();
  if (t === "yes" || t === "true" || t === "on") return true;
  if (t === "no" || t === "false" || t === "off") return false;
  fail(`\`${text}\` is not a boolean; use yes/no, true/false or on/off`);
}, "`yes`/`no`, `true`/`false` or `on`/`off`");

/** A non-empty string without surrounding spaces. */
export const text: DataType<string> = dataType("text", (t) => {
  if (t === "") fail("a value is required");
  return t;
});

/** A decimal integer in `[min, max]`. */
export function integer(min: number, max: number, name = "integer"): DataType<number> {
  return dataType(name, (t) => {
    if (!/^[-+]?\d+$/.test(t)) fail(`\`${t}\` is not a whole number`);
    const n = Number(t);
    if (n < min || n > max) fail(`${t} is out of range: must be between ${min} and ${max}`);
    return n;
  }, `a whole number from ${min} to ${max}`);
}

/** A non-negative decimal number of seconds (fractions allowed), e.g. `10.0`. */
export const seconds: DataType<number> = dataType("seconds", (t) => {
  if (!/^\d+(\.\d+)?$/.test(t)) fail(`\`${t}\` is not a number of seconds`);
  return Number(t);
}, "a number of seconds, fractions allowed");

/** A power of two in `[min, max]`. */
export function powerOfTwo(min: number, max: number): DataType<number> {
  const base = integer(min, max);
  return dataType("power of 2", (t, ctx) => {
    const n = base.parse(t, ctx);
    if ((n & (n - 1)) !== 0) fail(`${n} is not a power of 2`);
    return n;
  }, `a power of 2 from ${min} to ${max}`);
}

/** One of a fixed set of words (case-insensitive); `aliases` map extra spellings to a choice. */
export function choice<T extends string>(
  name: string,
  choices: readonly T[],
  aliases: Readonly<Record<string, T>> = {},
): DataType<T> {
  return dataType(name, (t) => {
    const lower = t.toLowerCase().replace(/_/g, "-");
    if ((choices as readonly string[]).includes(lower)) return lower as T;
    if (lower in aliases) return aliases[lower];
    const all = [...choices, ...Object.keys(aliases)];
    fail(
      `\`${t}\` is not a valid ${name}${didYouMean(lower, all)} (one of: ${choices.join(", ")})`,
    );
  }, `one of ${choices.map((c) => `\`${c}\``).join(", ")}`);
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
};

/**
 * A duration in seconds: a whole number with optional suffix `s`, `m`, `h`, `d` or `w`.
 * With `infinity`, the word `INFINITY` means {@link INFINITY} (0xFFFFFFFF).
 */
export function duration(opts: { infinity?: boolean; max?: number } = {}): DataType<number> {
  const max = opts.max ?? INFINITY;
  return dataType(
    opts.infinity ? "duration or INFINITY" : "duration",
    (t) => {
      if (opts.infinity && /^inf(inity|inite)?$/i.test(t)) return INFINITY;
      const m = /^(\d+)\s*([smhdw])?$/i.exec(t);
      if (!m) {
        fail(
          `\`${t}\` is not a duration; use a number of seconds with an optional s/m/h/d/w suffix` +
            (opts.infinity ? " or INFINITY" : ""),
        );
      }
      const n = Number(m[1]) * DURATION_UNITS[(m[2] ?? "s").toLowerCase()];
      if (n > max) fail(`${t} is too long: at most ${max} seconds`);
      return n;
    },
    "seconds, optionally with suffix `s`, `m`, `h`, `d` or `w`" +
      (opts.infinity ? "; `INFINITY` for no limit" : ""),
  );
}

/** A fraction from 0.0 to 1.0, or `NONE` (returned as `null`). */
export const factor: DataType<number | null> = dataType("factor or NONE", (t) => {
  if (t.toLowerCase() === "none") return null;
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(t)) fail(`\`${t}\` is not a number from 0.0 to 1.0 or NONE`);
  const n = Number(t);
  if (n < 0 || n > 1) fail(`${t} is out of range: must be from 0.0 to 1.0`);
  return n;
}, "a number from 0.0 to 1.0, or `NONE`");

/** A share written as a percentage (`30%` or `30`, 0 to 100), returned as a fraction 0.0-1.0. */
export const percentage: DataType<number> = dataType("percentage", (t) => {
  const m = /^(\d+(\.\d+)?)\s*%?$/.exec(t);
  if (!m) fail(`\`${t}\` is not a percentage; use a number from 0 to 100, optionally with %`);
  const n = Number(m[1]);
  if (n > 100) fail(`${t} is out of range: must be from 0% to 100%`);
  return n / 100;
}, "a number from 0 to 100, optionally followed by `%`");

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1024,
  mb: 1048576,
  gb: 1073741824,
};

/** A size in bytes with optional `kb`, `mb` or `gb` suffix (powers of 1024). */
export const byteSize: DataType<number> = dataType("byte size", (t) => {
  const m = /^(\d+)\s*(b|kb|mb|gb)?$/i.exec(t);
  if (!m) fail(`\`${t}\` is not a size; use a number with an optional kb/mb/gb suffix`);
  const n = Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()];
  if (n <= 0) fail("the size must be more than 0");
  return n;
}, "bytes, optionally with suffix `kb`, `mb` or `gb`");

// ---------------------------------------------------------------------------------------------
// Addresses

/** Address classes an {@link ipv6Address} can require. */
export type AddressClass =
  | "any"
  | "global-unicast"
  | "global-unicast-or-loopback"
  | "link-local"
  | "multicast"
  | "routable"
  | "unicast";

/** Read an address (no zone) with the protocol's reader; its canonical text and bytes. */
function v6Value(t: string): IPv6Address {
  if (t.includes("%")) fail(`\`${t}\`: a zone index (%...) is not allowed here`);
  if (!isIPv6(t)) fail(`\`${t}\` is not a valid IPv6 address`);
  const bytes = parseIPv6(t);
  return { text: formatIPv6(bytes), bytes };
}

function checkClass(a: IPv6Address, cls: AddressClass): void {
  const kind = addressKind(a.bytes);
  switch (cls) {
    case "any":
      return;
    case "link-local":
      if (kind !== "link-local") fail(`${a.text} is not a link-local address (fe80::/10)`);
      return;
    case "multicast":
      if (kind !== "multicast") fail(`${a.text} is not a multicast address (ff00::/8)`);
      return;
    case "unicast":
      if (kind === "unspecified" || kind === "multicast") {
        fail(`${a.text} is ${kind}, not a unicast address`);
      }
      return;
    case "global-unicast-or-loopback":
      if (kind === "loopback") return;
      /* falls through */
    case "global-unicast":
    case "routable":
      if (kind !== "other") {
        const what = cls === "routable" ? "a routable" : "a global unicast";
        fail(`${a.text} is ${kind}, not ${what} address`);
      }
  }
}

/** True when `address` is configured on some interface of this host. */
export function addressOnHost(address: IPv6Address): boolean {
  return hostInterfaces().some((i) => i.ipv6.includes(address.text));
}

/**
 * An IPv6 address of the given class. With `onHost`, a host check also requires the address to
 * be configured on one of this machine's interfaces.
 */
export function ipv6Address(
  cls: AddressClass = "any",
  opts: { onHost?: boolean } = {},
): DataType<IPv6Address> {
  const label = cls === "any" ? "IPv6 address" : `IPv6 address (${cls})`;
  return dataType(label, (t, ctx) => {
    const a = v6Value(t);
    checkClass(a, cls);
    if (opts.onHost && ctx.hostChecks && !addressOnHost(a)) {
      fail(`address ${a.text} is not configured on any interface of this host`, true);
    }
    return a;
  });
}

function maskCheck(bytes: Uint8Array, length: number, text: string, fix: () => string) {
  for (let bit = length; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3] & (0x80 >> (bit & 7))) {
      fail(`${text} has bits set after the prefix length; did you mean ${fix()}?`);
    }
  }
}

function zeroHostBits(bytes: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let bit = length; bit < out.length * 8; bit++) out[bit >> 3] &= ~(0x80 >> (bit & 7));
  return out;
}

/**
 * An IPv6 prefix `address/length` with no bits set after the length. `lengths` restricts the
 * allowed prefix lengths; `allowAddress` accepts a bare address as a /128.
 */
export function ipv6Prefix(
  opts: { minLength?: number; maxLength?: number; allowAddress?: boolean } = {},
): DataType<IPv6Prefix> {
  const min = opts.minLength ?? 0;
  const max = opts.maxLength ?? 128;
  const name = opts.allowAddress ? "IPv6 prefix or address" : "IPv6 prefix";
  return dataType(
    name,
    (t) => {
      const slash = t.indexOf("/");
      if (slash < 0) {
        if (opts.allowAddress) return new IPv6Prefix(v6Value(t).bytes, 128);
        fail(`\`${t}\` is not an IPv6 prefix: the /length is missing`);
      }
      const addr = v6Value(t.slice(0, slash));
      const lenText = t.slice(slash + 1);
      if (!/^\d{1,3}$/.test(lenText) || Number(lenText) > 128) {
        fail(`\`${t}\`: prefix length must be a number from 0 to 128`);
      }
      const length = Number(lenText);
      if (length < min || length > max) {
        fail(
          min === max
            ? `${t} must be a /${min} prefix`
            : `${t}: prefix length must be between ${min} and ${max}`,
        );
      }
      const prefix = new IPv6Prefix(addr.bytes, length);
      maskCheck(addr.bytes, length, t, () => prefix.text);
      return prefix;
    },
    "`address/length` with no bits set after the length" +
      (opts.allowAddress ? "; a plain address means a /128" : ""),
  );
}

/** An IPv4 prefix `a.b.c.d/len` with no bits set after the length. */
export const ipv4Prefix: DataType<IPv4Prefix> = dataType("IPv4 prefix", (t) => {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(t);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    fail(`\`${t}\` is not a valid IPv4 prefix (a.b.c.d/length)`);
  }
  const bytes = new Uint8Array(m.slice(1, 5).map(Number));
  const length = Number(m[5]);
  maskCheck(bytes, length, t, () => `${[...zeroHostBits(bytes, length)].join(".")}/${length}`);
  return { text: `${[...bytes].join(".")}/${length}`, bytes, length };
}, "`a.b.c.d/length` with no bits set after the length");

// ---------------------------------------------------------------------------------------------
// Names and identifiers

const LABEL_RE = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;

/**
 * A domain name. Internationalised names are converted to their ASCII (IDNA) form; the result is
 * lower case without a trailing dot. Labels are at most 63 characters, the name at most 253.
 */
export const domainName: DataType<string> = dataType("domain name", (t) => {
  if (t === "") fail("a domain name is required");
  const ascii = domainToASCII(t);
  if (ascii === "") fail(`\`${t}\` is not a valid domain name`);
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  if (name.length > 253) fail(`domain name is ${name.length} characters long; at most 253 allowed`);
  for (const label of name.split(".")) {
    if (label.length === 0) fail(`\`${t}\` contains an empty label`);
    if (label.length > 63) fail(`label \`${label}\` is longer than 63 characters`);
    if (!LABEL_RE.test(label)) fail(`\`${t}\` is not a valid domain name (label \`${label}\`)`);
  }
  return name;
}, "a domain name; internationalised names are allowed");

/** Hexadecimal bytes, optionally with `:` between octets; `min`/`max` bound the length in bytes. */
export function hexBytes(opts: { min?: number; max?: number } = {}): DataType<Uint8Array> {
  const min = opts.min ?? 1;
  return dataType("hex string", (t) => {
    let hex: string;
    if (t.includes(":")) {
      const parts = t.split(":");
      if (!parts.every((p) => /^[0-9a-f]{2}$/i.test(p))) {
        fail(`\`${t}\` is not hexadecimal octets separated by colons`);
      }
      hex = parts.join("");
    } else {
      if (!/^([0-9a-f]{2})+$/i.test(t)) fail(`\`${t}\` is not an even number of hex digits`);
      hex = t;
    }
    const bytes = new Uint8Array(hex.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    if (bytes.length < min) fail(`at least ${min} bytes are required`);
    if (opts.max !== undefined && bytes.length > opts.max) {
      fail(`${bytes.length} bytes is too long: at most ${opts.max} bytes allowed`);
    }
    return bytes;
  }, "hexadecimal, with or without `:` between octets");
}

/** An IANA hardware type (1 = Ethernet), 1-65535. */
export const hardwareType: DataType<number> = integer(1, 65535, "hardware type");

/** An IANA Private Enterprise Number (unsigned 32 bits). */
export const enterpriseNumber: DataType<number> = integer(0, 0xffffffff, "enterprise number");

/** A UUID (RFC 4122 text form or 32 hex digits) as 16 bytes. */
export const uuid: DataType<Uint8Array> = dataType("UUID", (t) => {
  const hex = t.replace(/-/g, "");
  if (!/^[0-9a-f]{32}$/i.test(hex)) fail(`\`${t}\` is not a UUID`);
  return new Uint8Array(hex.match(/../g)!.map((h) => parseInt(h, 16)));
});

/** An ISO-8601 UTC time `YYYY-MM-DDTHH:MM:SSZ`, returned as seconds since 2000-01-01 UTC. */
export const duidTime: DataType<number> = dataType("timestamp", (t) => {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$/.exec(t);
  if (!m) fail(`\`${t}\` is not a UTC timestamp like 2016-12-31T23:59:59Z`);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    fail(`\`${t}\` is not a valid date and time`);
  }
  const value = ms / 1000 - DUID_TIME_EPOCH;
  if (value < 0 || value > 0xffffffff) fail(`${t} is outside the DUID-LLT range (from 2000)`);
  return value;
}, "UTC time as `YYYY-MM-DDTHH:MM:SSZ`");

/** A mark (any single word). */
export const mark: DataType<string> = dataType("mark", (t) => {
  if (!/^\S+$/.test(t)) fail(`\`${t}\` is not a valid mark (one word)`);
  return t;
});

/** A network interface name; the host check requires it to exist. */
export const interfaceName: DataType<string> = dataType("interface name", (t, ctx) => {
  if (!/^[^\s/]{1,15}$/.test(t)) fail(`\`${t}\` is not a valid interface name`);
  if (ctx.hostChecks) {
    const names = hostInterfaces().map((i) => i.name);
    if (!names.includes(t)) {
      fail(`interface \`${t}\` does not exist on this host${didYouMean(t, names)}`, true);
    }
  }
  return t;
});

function accountName(kind: "user" | "group", exists: (t: string) => boolean): DataType<string> {
  return dataType(`${kind} name`, (t, ctx) => {
    if (!/^([A-Za-z_][A-Za-z0-9_.-]*\$?|\d+)$/.test(t)) {
      fail(`\`${t}\` is not a valid ${kind} name`);
    }
    if (ctx.hostChecks && !exists(t)) fail(`${kind} \`${t}\` does not exist on this host`, true);
    return t;
  });
}

/** A user name or numeric uid; the host check requires it to exist in /etc/passwd. */
export const userName: DataType<string> = accountName("user", (t) => !!lookupUser(t));
/** A group name or numeric gid; the host check requires it to exist in /etc/group. */
export const groupName: DataType<string> = accountName(
  "group",
  (t) => lookupGroup(t) !== undefined,
);

/** Log levels, least verbose first (decision 7: debug-packets is the most verbose). */
export const LOG_LEVELS = [
  "critical",
  "error",
  "warning",
  "info",
  "debug",
  "debug-handling",
  "debug-packets",
  "notset",
] as const;
/** A log level name. */
export type LogLevel = typeof LOG_LEVELS[number];
/** A log level; `warn` is accepted for `warning` and `_` for `-`. */
export const logLevel: DataType<LogLevel> = choice("log level", LOG_LEVELS, { warn: "warning" });

/** Syslog facility names. */
export const SYSLOG_FACILITIES = [
  "auth",
  "authpriv",
  "cron",
  "daemon",
  "ftp",
  "kern",
  "lpr",
  "mail",
  "news",
  "security",
  "syslog",
  "user",
  "uucp",
  "local0",
  "local1",
  "local2",
  "local3",
  "local4",
  "local5",
  "local6",
  "local7",
] as const;
/** A syslog facility name. */
export type SyslogFacility = typeof SYSLOG_FACILITIES[number];
/** A syslog facility. */
export const syslogFacility: DataType<SyslogFacility> = choice(
  "syslog facility",
  SYSLOG_FACILITIES,
);

/** A DHCPv6 option given by configuration name (`recursive-name-servers`) or number (0-65535). */
export const optionCode: DataType<number> = dataType("option name or number", (t) => {
  const code = optionCodeFromName(t);
  if (code === undefined) {
    fail(
      `\`${t}\` is not a known option name or number 0-65535${
        didYouMean(t, optionTypesByName.keys())
      }`,
    );
  }
  return code;
}, "an option name such as `recursive-name-servers`, or its number");

/** A DHCPv6 message type by name (`solicit`, `information-request`) or number. */
export const messageType: DataType<number> = dataType("message type", (t) => {
  const code = messageTypeFromName(t);
  if (code === undefined) {
    fail(`\`${t}\` is not a known message type${didYouMean(t, messageTypesByName.keys())}`);
  }
  return code;
}, "a message type name such as `solicit` or `information-request`, or its number");

// ---------------------------------------------------------------------------------------------
// Paths

function resolvePath(t: string, ctx: ValueContext): string {
  if (t === "") fail("a path is required");
  return isAbsolute(t) ? t : resolve(join(ctx.configDir, t));
}

/** A path to an existing file (relative paths start at the configuration file's folder). */
export const existingFile: DataType<string> = dataType("existing file", (t, ctx) => {
  const path = resolvePath(t, ctx);
  if (ctx.hostChecks) {
    let isFile = false;
    try {
      isFile = statSync(path).isFile();
    } catch {
      fail(`file ${path} does not exist`, true);
    }
    if (!isFile) fail(`${path} is not a regular file`, true);
  }
  return path;
}, "path of an existing file, relative to the configuration file's folder");

/** A path whose parent folder exists (relative paths start at the configuration file's folder). */
export const pathInExistingDir: DataType<string> = dataType("path", (t, ctx) => {
  const path = resolvePath(t, ctx);
  if (ctx.hostChecks) {
    const parent = dirname(path);
    if (!existsSync(parent) || !statSync(parent).isDirectory()) {
      fail(`folder ${parent} does not exist`, true);
    }
  }
  return path;
}, "path in an existing folder, relative to the configuration file's folder");

/** Where to send syslog messages: a Unix socket path or a `host:port` pair. */
export type SyslogDestination =
  | { readonly kind: "socket"; readonly path: string }
  | { readonly kind: "inet"; readonly host: string; readonly port: number };

/** A syslog destination: `host:port`, `[v6addr]:port` or a Unix socket path. */
export const syslogDestination: DataType<SyslogDestination> = dataType(
  "syslog destination",
  (t, ctx) => {
    const inet = /^(?:\[([0-9a-fA-F:.]+)\]|([^/:\s]+)):(\d{1,5})$/.exec(t);
    if (inet) {
      const port = Number(inet[3]);
      if (port < 1 || port > 65535) fail(`port ${port} is out of range 1-65535`);
      return { kind: "inet", host: inet[1] ?? inet[2], port };
    }
    return { kind: "socket", path: pathInExistingDir.parse(t, ctx) };
  },
  "`host:port` or the path of a Unix socket",
);
