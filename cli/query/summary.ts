/**
 * The readable summary `dhcpkit query` prints by default: the message type and transaction id,
 * each IA with its addresses or prefixes and their lifetimes, status codes with their names and
 * messages, and every other option decoded on one line (DUIDs by type, opaque ids as text when
 * printable), then the options of the relay layer.
 * @module
 */

import {
  ClientServerMessage,
  describeDuid,
  describeOption,
  Duid,
  IAAddressOption,
  IANAOption,
  IAPDOption,
  IAPrefixOption,
  IATAOption,
  INFINITY,
  type Message,
  OpaqueOption,
  type Option,
  RelayMessage,
  RelayMessageOption,
  RemoteIdOption,
  STATUS_NAMES,
  StatusCodeOption,
} from "../../src/protocol/mod.ts";

/** Seconds as `30d`, `1h30m`, `45s`; `infinity` for 0xffffffff. */
export function formatLifetime(seconds: number): string {
  if (seconds === INFINITY) return "infinity";
  if (seconds === 0) return "0";
  const units: [string, number][] = [["d", 86400], ["h", 3600], ["m", 60]];
  let rest = seconds;
  let out = "";
  for (const [name, size] of units) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${name}`;
      rest %= size;
    }
  }
  return rest > 0 || out === "" ? `${out}${rest}s` : out;
}

/** Opaque bytes as quoted text when printable ASCII, else `0x` hex. */
export function formatOpaque(bytes: Uint8Array): string {
  const printable = bytes.length > 0 && bytes.every((b) => b >= 0x20 && b < 0x7f);
  return printable
    ? JSON.stringify(new TextDecoder().decode(bytes))
    : `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function formatDuid(duid: Duid): string {
  const d = describeDuid(duid);
  return `${d.type_name} ${d.hex}`;
}

/** A described value on one line. */
function formatValue(value: unknown): string {
  if (Array.isArray(value)) return value.map(formatValue).join(", ");
  if (value && typeof value === "object") {
    const o = value as Record<string, unknown>;
    if ("hex" in o && "type_name" in o) return `${o.type_name} ${o.hex}`;
    if ("code" in o && "name" in o) return formatFields(o);
    return Object.entries(o).map(([k, v]) => `${k}=${formatValue(v)}`).join(" ");
  }
  return String(value);
}

/** The fields of a described option after its code and name. */
function formatFields(described: Record<string, unknown>): string {
  const fields = Object.entries(described).filter(([k]) => k !== "code" && k !== "name");
  if (fields.length === 0) return String(described.name);
  if (fields.length === 1) return formatValue(fields[0][1]);
  return fields.map(([k, v]) => `${k}=${formatValue(v)}`).join(", ");
}

function statusLine(option: StatusCodeOption): string {
  const name = STATUS_NAMES.get(option.statusCode) ?? "unknown";
  const text = option.statusMessage ? `: ${option.statusMessage}` : "";
  return `status ${name} (${option.statusCode})${text}`;
}

/** The lines of one option, indented by `indent`. */
function optionLines(option: Option, indent: string): string[] {
  if (option instanceof IANAOption || option instanceof IAPDOption) {
    const kind = option instanceof IANAOption ? "ia-na" : "ia-pd";
    const head = `${indent}${kind} ${option.iaid} (T1 ${formatLifetime(option.t1)}, ` +
      `T2 ${formatLifetime(option.t2)})`;
    const inner = option.options.flatMap((o) => optionLines(o, indent + "  "));
    return [head, ...(inner.length > 0 ? inner : [`${indent}  (empty)`])];
  }
  if (option instanceof IATAOption) {
    return [
      `${indent}ia-ta ${option.iaid}`,
      ...option.options.flatMap((o) => optionLines(o, indent + "  ")),
    ];
  }
  if (option instanceof IAAddressOption) {
    return [
      `${indent}address ${option.address} (preferred ${
        formatLifetime(option.preferredLifetime)
      }, ` +
      `valid ${formatLifetime(option.validLifetime)})`,
      ...option.options.flatMap((o) => optionLines(o, indent + "  ")),
    ];
  }
  if (option instanceof IAPrefixOption) {
    return [
      `${indent}prefix ${option.prefix}/${option.prefixLength} (preferred ` +
      `${formatLifetime(option.preferredLifetime)}, valid ${formatLifetime(option.validLifetime)})`,
      ...option.options.flatMap((o) => optionLines(o, indent + "  ")),
    ];
  }
  if (option instanceof StatusCodeOption) return [indent + statusLine(option)];
  const described = describeOption(option);
  const name = String(described.name);
  if (option instanceof RemoteIdOption) {
    return [`${indent}${name}: ${option.enterpriseNumber}:${formatOpaque(option.remoteId)}`];
  }
  if (option instanceof OpaqueOption) return [`${indent}${name}: ${formatOpaque(option.data)}`];
  const duid = Object.values(option).find((v) => v instanceof Duid) as Duid | undefined;
  if (duid) return [`${indent}${name}: ${formatDuid(duid)}`];
  const nested = (option as { options?: unknown }).options;
  if (Array.isArray(nested) && nested.length > 0 && nested.every((o) => o instanceof Object)) {
    const rest = { ...described };
    delete rest.options;
    return [
      `${indent}${name}: ${formatFields(rest)}`,
      ...(nested as Option[]).flatMap((o) => optionLines(o, indent + "  ")),
    ];
  }
  return [`${indent}${name}: ${formatFields(described)}`];
}

/**
 * The summary of `reply` (the relayed answer as received): the inner message, then the relay
 * layers' own options.
 */
export function summarize(reply: Message, from: string): string[] {
  const relays: RelayMessage[] = [];
  let message: Message = reply;
  while (message instanceof RelayMessage) {
    relays.push(message);
    const inner = message.getOption(RelayMessageOption)?.message;
    if (!inner) break;
    message = inner;
  }
  const id = message instanceof ClientServerMessage
    ? ` (transaction ${message.transactionId.toString(16).padStart(6, "0")})`
    : "";
  const lines = [`${message.name}${id} from ${from}`];
  if (!(message instanceof RelayMessage)) {
    for (const option of message.options) lines.push(...optionLines(option, "  "));
  }
  for (const relay of relays) {
    const own = relay.options.filter((o) => !(o instanceof RelayMessageOption));
    if (own.length === 0) continue;
    lines.push(`relay layer (link ${relay.linkAddress}):`);
    for (const option of own) lines.push(...optionLines(option, "  "));
  }
  return lines;
}
