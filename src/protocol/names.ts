/**
 * Name lookups for configuration and tools: option and message-type names or numbers.
 * @module
 */

import { optionTypes, optionTypesByName } from "./option.ts";
import { messageTypes, messageTypesByName } from "./message.ts";

function normalise(name: string): string {
  // CamelCase -> kebab-case, underscores -> hyphens, lower case.
  return name.trim().replace(/([a-z0-9])([A-Z])/g, "$1-$2").replaceAll("_", "-").toLowerCase();
}

/** Option code for a registered option name (`recursive-name-servers`) or a number 0-65535. */
export function optionCodeFromName(nameOrNumber: string): number | undefined {
  const text = nameOrNumber.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n <= 0xffff ? n : undefined;
  }
  return optionTypesByName.get(normalise(text))?.code;
}

/** Message type code for a name (`solicit`, `information-request`, `InformationRequest`) or number. */
export function messageTypeFromName(nameOrNumber: string): number | undefined {
  const text = nameOrNumber.trim();
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 255 ? n : undefined;
  }
  const key = normalise(text).replace(/-message$/, "");
  return messageTypesByName.get(key)?.messageType ??
    messageTypesByName.get(
      key.replace(/^relay-forw$/, "relay-forward").replace(/^relay-repl$/, "relay-reply"),
    )
      ?.messageType;
}

/** Name of an option code, or `unknown`. */
export function optionName(code: number): string {
  return optionTypes.get(code)?.optionName ?? "unknown";
}

/** Name of a message type code, or `unknown`. */
export function messageName(type: number): string {
  return messageTypes.get(type)?.messageName ?? "unknown";
}
