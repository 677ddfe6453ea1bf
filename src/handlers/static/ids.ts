/**
 * Client identifiers of static assignments: parsing the `id` column into one canonical key per
 * client, checking the `address` and `prefix` columns, and the candidate keys of a request.
 *
 * Canonical keys (what both the CSV table and the SQLite `id` column hold):
 *
 * | written as | canonical key |
 * |---|---|
 * | `duid:HEX` | `duid:HEX` (DUID parsed and re-serialised) |
 * | `interface-id:HEX`, `interface-id-str:TEXT` | `interface-id:HEX` |
 * | `remote-id:EN:HEX`, `remote-id-str:EN:TEXT` | `remote-id:EN:HEX` (EN decimal) |
 * | `subscriber-id:HEX`, `subscriber-id-str:TEXT` | `subscriber-id:HEX` |
 * | `linklayer-id:TYPE:HEX`, `linklayer-id-str:TYPE:TEXT` | `linklayer-id:TYPE:HEX` (TYPE decimal) |
 *
 * HEX is lower case without separators (colons are accepted on input); TEXT is taken as UTF-8.
 * @module
 */

import {
  EnterpriseDuid,
  formatIPv6,
  InterfaceIdOption,
  IPv6Prefix,
  LinkLayerDuid,
  LinkLayerIdOption,
  LinkLayerTimeDuid,
  parseIPv6,
  RemoteIdOption,
  SubscriberIdOption,
  UuidDuid,
  Writer,
} from "../../protocol/mod.ts";
import type { TransactionBundle } from "../../pipeline/mod.ts";

/** A client's static assignment: at most one address and one prefix. */
export interface Assignment {
  /** The assigned address in canonical (RFC 5952) form, if any. */
  readonly address?: string;
  /**
   * The same address as 16 bytes, when the source holds it so (the CSV table does): answers are
   * then built from the bytes instead of parsing the text back. Must not be changed.
   */
  readonly addressBytes?: Uint8Array;
  /** The delegated prefix, if any. */
  readonly prefix?: IPv6Prefix;
}

/** A row or id that cannot be used; the message says why. */
export class AssignmentFormatError extends Error {
  /** Create the error. */
  constructor(message: string) {
    super(message);
    this.name = "AssignmentFormatError";
  }
}

const DECIMAL_RE = /^[0-9]{1,10}$/;
const encoder = new TextEncoder();

/** True when `text` is non-empty lower-case hex of even length. */
/** How many characters of a value a message quotes. */
export const QUOTED_CHARS = 64;

/**
 * `text` quoted for a message or log line, cut to {@link QUOTED_CHARS} characters (the full
 * length is named), so a huge or binary field cannot flood the log.
 */
export function quoteValue(text: string): string {
  if (text.length <= QUOTED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, QUOTED_CHARS))}... (${text.length} characters)`;
}

/** `text` unquoted, cut like {@link quoteValue}. */
export function clipValue(text: string): string {
  if (text.length <= QUOTED_CHARS) return text;
  return `${text.slice(0, QUOTED_CHARS)}... (${text.length} characters)`;
}

function isLowerHex(text: string): boolean {
  if (text.length === 0 || (text.length & 1) !== 0) return false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** Lower-case hex without separators, from hex text that may contain colons and upper case. */
function canonicalHex(text: string, what: string): string {
  if (isLowerHex(text)) return text;
  const hex = text.replaceAll(":", "").toLowerCase();
  if (hex.length === 0) throw new AssignmentFormatError(`${what} is empty`);
  if (!isLowerHex(hex)) {
    throw new AssignmentFormatError(`${what} is not hexadecimal: ${quoteValue(text)}`);
  }
  return hex;
}

/** Hex of UTF-8 text (the `-str` forms). */
function textHex(text: string, what: string): string {
  if (text.length === 0) throw new AssignmentFormatError(`${what} is empty`);
  const parts = new Array<string>(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0x80) return hexOf(encoder.encode(text));
    parts[i] = HEX_DIGITS[c];
  }
  return parts.join("");
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `data` as one flat string (no rope, so a million keys stay small). */
export function hexOf(data: Uint8Array): string {
  const parts = new Array<string>(data.length);
  for (let i = 0; i < data.length; i++) parts[i] = HEX_DIGITS[data[i]];
  return parts.join("");
}

function decimal(text: string, max: number, what: string): number {
  if (!DECIMAL_RE.test(text) || Number(text) > max) {
    throw new AssignmentFormatError(`${what} must be a number 0-${max}: ${quoteValue(text)}`);
  }
  return Number(text);
}

/** Split `EN:VALUE` at the first colon. */
function numbered(rest: string, max: number, what: string, kind: string): [number, string] {
  const colon = rest.indexOf(":");
  if (colon < 0) {
    throw new AssignmentFormatError(`${kind} needs the form ${kind}:${what.toUpperCase()}:VALUE`);
  }
  return [decimal(rest.slice(0, colon), max, `${kind} ${what}`), rest.slice(colon + 1)];
}

const KINDS = new Set([
  "duid",
  "interface-id",
  "interface-id-str",
  "remote-id",
  "remote-id-str",
  "subscriber-id",
  "subscriber-id-str",
  "linklayer-id",
  "linklayer-id-str",
]);

/** Shortest DUID of each known type, in bytes (type code included). */
const DUID_MIN: Record<number, number> = {
  [LinkLayerTimeDuid.duidType]: 8,
  [EnterpriseDuid.duidType]: 6,
  [LinkLayerDuid.duidType]: 4,
  [UuidDuid.duidType]: 18,
};

/**
 * Check that DUID hex has the shape the wire parser accepts (the same length rules as
 * `protocol/duid.ts`, without building objects: this runs for every row of a big file). Every
 * DUID class re-serialises to the bytes it was parsed from, so the hex is already canonical.
 */
function checkDuid(hex: string): string {
  const length = hex.length >> 1;
  if (length < 2) throw new AssignmentFormatError(`duid ${clipValue(hex)} is shorter than 2 bytes`);
  if (length > 130) {
    throw new AssignmentFormatError(`duid ${clipValue(hex)} is longer than 130 bytes`);
  }
  const type = parseInt(hex.slice(0, 4), 16);
  const min = DUID_MIN[type] ?? 2;
  if (length < min) {
    throw new AssignmentFormatError(
      `duid ${clipValue(hex)} is too short for a DUID of type ${type}`,
    );
  }
  if (type === UuidDuid.duidType && length !== 18) {
    throw new AssignmentFormatError(
      `duid ${clipValue(hex)}: a DUID-UUID has exactly 16 bytes after the type`,
    );
  }
  return hex;
}

/** Join parts into one flat string (template literals would build a rope per key). */
function flat(...parts: (string | number)[]): string {
  return parts.join("");
}

/**
 * The canonical key of an `id` column value (see the module documentation); throws
 * {@link AssignmentFormatError} when the value is malformed.
 */
export function canonicalId(id: string): string {
  const colon = id.indexOf(":");
  if (colon < 0) {
    throw new AssignmentFormatError(
      `id ${quoteValue(id)} has no type (duid:, interface-id:, remote-id:, ...)`,
    );
  }
  let kind = id.slice(0, colon);
  if (!KINDS.has(kind)) kind = kind.trim().toLowerCase();
  const rest = id.slice(colon + 1);
  switch (kind) {
    case "duid":
      return flat("duid:", checkDuid(canonicalHex(rest.trim(), "duid")));
    case "interface-id":
      return flat("interface-id:", canonicalHex(rest.trim(), "interface-id"));
    case "interface-id-str":
      return flat("interface-id:", textHex(rest, "interface-id-str"));
    case "remote-id": {
      const [en, value] = numbered(rest.trim(), 0xffffffff, "enterprise", kind);
      return flat("remote-id:", en, ":", canonicalHex(value, "remote-id"));
    }
    case "remote-id-str": {
      const [en, value] = numbered(rest, 0xffffffff, "enterprise", kind);
      return flat("remote-id:", en, ":", textHex(value, "remote-id-str"));
    }
    case "subscriber-id":
      return flat("subscriber-id:", canonicalHex(rest.trim(), "subscriber-id"));
    case "subscriber-id-str":
      return flat("subscriber-id:", textHex(rest, "subscriber-id-str"));
    case "linklayer-id": {
      const [type, value] = numbered(rest.trim(), 0xffff, "type", kind);
      return flat("linklayer-id:", type, ":", canonicalHex(value, "linklayer-id"));
    }
    case "linklayer-id-str": {
      const [type, value] = numbered(rest, 0xffff, "type", kind);
      return flat("linklayer-id:", type, ":", textHex(value, "linklayer-id-str"));
    }
    default:
      throw new AssignmentFormatError(
        `unknown id type ${quoteValue(kind)} (expected duid, interface-id, interface-id-str, ` +
          "remote-id, remote-id-str, subscriber-id, subscriber-id-str, linklayer-id or " +
          "linklayer-id-str)",
      );
  }
}

const groups = new Uint16Array(8);

/** Value of one hex digit, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parse IPv6 text into the 8 groups of `out` (fast path without regular expressions); returns
 * false when the text is not an address. Text with an embedded IPv4 part goes through the
 * protocol parser.
 */
function parseGroups(text: string, out: Uint16Array): boolean {
  const n = text.length;
  if (n < 2 || n > 45) return false;
  if (text.indexOf(".") >= 0) {
    let bytes: Uint8Array;
    try {
      bytes = parseIPv6(text);
    } catch {
      return false;
    }
    for (let g = 0; g < 8; g++) out[g] = (bytes[g * 2] << 8) | bytes[g * 2 + 1];
    return true;
  }
  let count = 0, gap = -1, i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0);
      return true;
    }
  }
  while (i < n) {
    if (count === 8) return false;
    let value = 0, digits = 0;
    while (i < n) {
      const d = hexDigit(text.charCodeAt(i));
      if (d < 0) break;
      value = (value << 4) | d;
      if (++digits > 4) return false;
      i++;
    }
    if (digits === 0) return false;
    out[count++] = value;
    if (i === n) break;
    if (text.charCodeAt(i) !== 58) return false;
    i++;
    if (i < n && text.charCodeAt(i) === 58) {
      if (gap >= 0) return false;
      gap = count;
      i++;
      if (i === n) break;
    } else if (i === n) return false;
  }
  if (gap < 0) return count === 8;
  if (count > 7) return false;
  const tail = count - gap;
  for (let k = 0; k < tail; k++) out[7 - k] = out[count - 1 - k];
  for (let k = gap; k < 8 - tail; k++) out[k] = 0;
  return true;
}

/** RFC 5952 text of 8 groups, as one flat string. */
function formatGroups(g: Uint16Array): string {
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    const bytes = new Uint8Array(16);
    writeGroups(bytes, 0);
    return formatIPv6(bytes);
  }
  let bestStart = -1, bestLen = 0, curStart = -1, curLen = 0;
  for (let k = 0; k < 8; k++) {
    if (g[k] === 0) {
      if (curStart < 0) curStart = k, curLen = 1;
      else curLen++;
      if (curLen > bestLen) bestStart = curStart, bestLen = curLen;
    } else curStart = -1, curLen = 0;
  }
  if (bestLen < 2) bestStart = -1;
  const parts: string[] = [];
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      parts.push(k === 0 ? "::" : ":");
      k += bestLen - 1;
      continue;
    }
    parts.push(g[k].toString(16));
    if (k < 7) parts.push(":");
  }
  return parts.join("");
}

function writeGroups(out: Uint8Array, pos: number): void {
  for (let k = 0; k < 8; k++) {
    out[pos + k * 2] = groups[k] >>> 8;
    out[pos + k * 2 + 1] = groups[k] & 0xff;
  }
}

/** Parse and check an address column value into `groups`; throws {@link AssignmentFormatError}. */
function checkAddress(text: string): void {
  if (!parseGroups(text, groups)) {
    throw new AssignmentFormatError(`address ${quoteValue(text)} is not an IPv6 address`);
  }
  if ((groups[0] >>> 8) === 0xff) {
    throw new AssignmentFormatError(`address ${clipValue(text)} is a multicast address`);
  }
  if (
    groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0 &&
    groups[5] === 0 && groups[6] === 0 && groups[7] <= 1
  ) throw new AssignmentFormatError(`address ${clipValue(text)} is unspecified or loopback`);
}

/**
 * The canonical form of an `address` column value (empty → `undefined`); throws
 * {@link AssignmentFormatError} for anything that is not a unicast IPv6 address.
 */
export function canonicalAddress(text: string): string | undefined {
  if (text === "") return undefined;
  checkAddress(text);
  return formatGroups(groups);
}

/**
 * Check an `address` column value and write its 16 bytes into `out` at `pos`; returns false
 * (writing nothing) when the value is empty. Throws {@link AssignmentFormatError} like
 * {@link canonicalAddress}.
 */
export function addressInto(text: string, out: Uint8Array, pos: number): boolean {
  if (text === "") return false;
  checkAddress(text);
  writeGroups(out, pos);
  return true;
}

/** Parse `address/length` into `groups`, returning the length; throws {@link AssignmentFormatError}. */
function parsePrefixText(text: string): number {
  const slash = text.indexOf("/");
  const lengthText = slash < 0 ? "" : text.slice(slash + 1);
  if (slash < 0 || !/^[0-9]{1,3}$/.test(lengthText) || Number(lengthText) > 128) {
    throw new AssignmentFormatError(
      `prefix ${quoteValue(text)} is not an IPv6 prefix (address/length, length 1-128)`,
    );
  }
  if (!parseGroups(text.slice(0, slash), groups)) {
    throw new AssignmentFormatError(`prefix ${quoteValue(text)} has no valid IPv6 address`);
  }
  return Number(lengthText);
}

/** True when bits past `length` are zero in `groups`. */
function hostBitsClear(length: number): boolean {
  for (let k = 0; k < 8; k++) {
    const keep = Math.min(Math.max(length - k * 16, 0), 16);
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    if ((groups[k] & ~mask & 0xffff) !== 0) return false;
  }
  return true;
}

/** Parse and check a prefix column value into `groups`; returns its length. */
function checkPrefix(text: string): number {
  const length = parsePrefixText(text);
  if (length === 0) throw new AssignmentFormatError(`prefix ${clipValue(text)} has length 0`);
  if ((groups[0] >>> 8) === 0xff) {
    throw new AssignmentFormatError(`prefix ${clipValue(text)} is multicast`);
  }
  if (!hostBitsClear(length)) {
    throw new AssignmentFormatError(
      `prefix ${clipValue(text)} has bits set after the first ${length}`,
    );
  }
  return length;
}

/**
 * The canonical `address/length` form of a `prefix` column value (empty → `undefined`); throws
 * {@link AssignmentFormatError} when it is not an IPv6 prefix, has host bits set or is `/0`.
 */
export function canonicalPrefix(text: string): string | undefined {
  if (text === "") return undefined;
  const length = checkPrefix(text);
  return [formatGroups(groups), "/", length].join("");
}

/**
 * Check a `prefix` column value and write its 16 network bytes into `out` at `pos`; returns the
 * length, or 0 (writing nothing) when the value is empty. Throws like {@link canonicalPrefix}.
 */
export function prefixInto(text: string, out: Uint8Array, pos: number): number {
  if (text === "") return 0;
  const length = checkPrefix(text);
  writeGroups(out, pos);
  return length;
}

/** Parse a stored prefix value into an {@link IPv6Prefix}; throws {@link AssignmentFormatError}. */
export function parsePrefix(text: string): IPv6Prefix {
  const length = checkPrefix(text);
  const bytes = new Uint8Array(16);
  writeGroups(bytes, 0);
  return new IPv6Prefix(bytes, length);
}

/**
 * An {@link Assignment} from stored column values, which must already be canonical (as the CSV
 * loader and `build-sqlite` store them); values that do not parse throw
 * {@link AssignmentFormatError}.
 */
export function assignmentFrom(
  address: string | null | undefined,
  prefix: string | null | undefined,
): Assignment {
  const out: { address?: string; prefix?: IPv6Prefix } = {};
  if (address) out.address = canonicalAddress(address);
  if (prefix) out.prefix = parsePrefix(prefix);
  return out;
}

/**
 * The keys that identify the client of `bundle`, in lookup order: DUID, then the Interface-ID,
 * Remote-ID, Subscriber-ID and Link-Layer-ID of the relay closest to the client. For a client
 * talking to us directly that relay is the server's own wrapper, whose Interface-ID is the name of
 * the server interface the request arrived on.
 */
export function candidateIds(bundle: TransactionBundle): string[] {
  const ids: string[] = [];
  visitCandidateKeys(bundle, (prefix, data) => {
    ids.push(prefix + hexOf(data));
    return false;
  });
  return ids;
}

/** Where the client's DUID is written for {@link visitCandidateKeys}. */
const duidBytes = new Writer(64);

/**
 * Call `visit` with each key of {@link candidateIds} in lookup order, until it returns true, as
 * its text prefix and the bytes whose lower-case hex ends it (`duid:` and the DUID,
 * `interface-id:` and the Interface-ID, ...): sources that can look keys up without building
 * them do so, and the keys after the one found are never made. `data` is only valid during the
 * call. This is the one definition of the keys and their order.
 */
export function visitCandidateKeys(
  bundle: TransactionBundle,
  visit: (prefix: string, data: Uint8Array) => boolean,
): void {
  const duid = bundle.clientDuid;
  if (duid) {
    duidBytes.reset();
    duid.write(duidBytes);
    if (visit("duid:", duidBytes.buf.subarray(0, duidBytes.pos))) return;
  }
  const relay = bundle.incomingRelayMessages[0];
  if (!relay) return;
  const interfaceId = relay.getOption(InterfaceIdOption);
  if (interfaceId && interfaceId.data.length > 0) {
    if (visit("interface-id:", interfaceId.data)) return;
  }
  const remoteId = relay.getOption(RemoteIdOption);
  if (remoteId && remoteId.remoteId.length > 0) {
    if (visit(`remote-id:${remoteId.enterpriseNumber}:`, remoteId.remoteId)) return;
  }
  const subscriberId = relay.getOption(SubscriberIdOption);
  if (subscriberId && subscriberId.data.length > 0) {
    if (visit("subscriber-id:", subscriberId.data)) return;
  }
  const linkLayerId = relay.getOption(LinkLayerIdOption);
  if (linkLayerId && linkLayerId.linkLayerAddress.length > 0) {
    visit(`linklayer-id:${linkLayerId.linkLayerType}:`, linkLayerId.linkLayerAddress);
  }
}
