/**
 * A JSON view of messages, options and DUIDs for tools (`dhcpkit decode`) and logs.
 *
 * Every object gets its fields in snake_case; bytes become lower-case hex; nested messages and
 * options are described recursively. Options carry `code` and `name` first.
 * @module
 */

import { toHex } from "./bytes.ts";
import { Duid } from "./duid.ts";
import { toUnicodeDomain } from "./domain.ts";
import { ClientServerMessage, Message, RelayMessage, UnknownMessage } from "./message.ts";
import { Option, optionTypes, UnknownOption } from "./option.ts";
import { STATUS_NAMES, StatusCodeOption } from "./options/core.ts";

function snake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

/** JSON-friendly value of any field. */
export function describeValue(value: unknown): unknown {
  if (value instanceof Uint8Array) return toHex(value);
  if (value instanceof Message) return describeMessage(value);
  if (value instanceof Option) return describeOption(value);
  if (value instanceof Duid) return describeDuid(value);
  if (Array.isArray(value)) return value.map(describeValue);
  if (typeof value === "bigint") return value.toString();
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[snake(k)] = describeValue(v);
    return out;
  }
  return value;
}

/**
 * The fields of `target`: its own properties, or the names its class lists in a static
 * `fieldNames` (for classes whose fields are accessors, such as an IA Address's address).
 */
function fields(target: object, skip: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = (target.constructor as { fieldNames?: readonly string[] }).fieldNames;
  const keys = names && Object.hasOwn(target.constructor, "fieldNames")
    ? names
    : Object.keys(target);
  for (const k of keys) {
    if (skip.has(k)) continue;
    out[snake(k)] = describeValue((target as Record<string, unknown>)[k]);
  }
  return out;
}

const OPTION_SKIP = new Set(["optionCode"]);

/** The name of an option's own class (sub-option spaces such as NTP have their own), else the registry's. */
function optionNameOf(option: Option): string {
  if (option instanceof UnknownOption) return "unknown";
  return (option.constructor as { optionName?: string }).optionName ??
    optionTypes.get(option.code)?.optionName ?? "unknown";
}

/** Describe an option: `code`, `name`, then its fields (unknown options: `data` hex). */
export function describeOption(option: Option): Record<string, unknown> {
  const out: Record<string, unknown> = {
    code: option.code,
    name: optionNameOf(option),
    ...fields(option, OPTION_SKIP),
  };
  if (typeof out.status_code === "number" && option.code === StatusCodeOption.code) {
    out.status_name = STATUS_NAMES.get(out.status_code as number) ?? "unknown";
  }
  if (Array.isArray(out.domain_names)) {
    const unicode = (out.domain_names as string[]).map(toUnicodeDomain);
    if (unicode.some((u, i) => u !== (out.domain_names as string[])[i])) {
      out.domain_names_unicode = unicode;
    }
  }
  return out;
}

/** Describe a DUID: `type`, `type_name`, its fields and `hex` of the whole DUID. */
export function describeDuid(duid: Duid): Record<string, unknown> {
  const ctor = duid.constructor as unknown as { duidName?: string };
  return {
    type: duid.type,
    type_name: ctor.duidName ?? "unknown",
    ...fields(duid, new Set(["duidTypeCode"])),
    hex: duid.toHex(),
  };
}

/** Describe a message: `type` (name), `code`, transaction id or relay fields, and options. */
export function describeMessage(message: Message): Record<string, unknown> {
  const out: Record<string, unknown> = { type: message.name, code: message.type };
  if (message instanceof ClientServerMessage) {
    out.transaction_id = message.transactionId.toString(16).padStart(6, "0");
  } else if (message instanceof RelayMessage) {
    out.hop_count = message.hopCount;
    out.link_address = message.linkAddress;
    out.peer_address = message.peerAddress;
  } else if (message instanceof UnknownMessage) {
    out.data = toHex(message.data);
    return out;
  }
  out.options = message.options.map(describeOption);
  return out;
}
