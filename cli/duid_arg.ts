/**
 * DUIDs written on the command line: the hex of the whole DUID, or a readable form
 * (`enterprise:..`, `linklayer:..`, `linklayer-time:..`). Shared by `leasequery` and `query`.
 * @module
 */

import {
  type Duid,
  duidFromBytes,
  EnterpriseDuid,
  fromHex,
  LinkLayerDuid,
  LinkLayerTimeDuid,
} from "../src/protocol/mod.ts";

/** Parse a DUID: plain hex, `enterprise:..`, `linklayer:..` or `linklayer-time:..`. */
export function parseDuidString(text: string): Duid {
  const [kind, ...rest] = text.split(":");
  const number = (s: string | undefined, what: string) => {
    if (s === undefined || !/^\d+$/.test(s)) throw new Error(`bad ${what} in DUID ${text}`);
    return Number(s);
  };
  switch (kind.toLowerCase()) {
    case "enterprise": {
      if (rest.length < 2) throw new Error(`use enterprise:<number>:<identifier>, not ${text}`);
      const en = number(rest[0], "enterprise number");
      const id = rest.slice(1).join(":");
      const bytes = id.startsWith("0x") ? fromHex(id.slice(2)) : new TextEncoder().encode(id);
      return new EnterpriseDuid(en, bytes);
    }
    case "linklayer":
    case "link-layer":
      if (rest.length < 2) throw new Error(`use linklayer:<hwtype>:<hex>, not ${text}`);
      return new LinkLayerDuid(number(rest[0], "hardware type"), fromHex(rest.slice(1).join(":")));
    case "linklayer-time":
    case "link-layer-time":
      if (rest.length < 3) throw new Error(`use linklayer-time:<hwtype>:<time>:<hex>, not ${text}`);
      return new LinkLayerTimeDuid(
        number(rest[0], "hardware type"),
        number(rest[1], "time"),
        fromHex(rest.slice(2).join(":")),
      );
    default: {
      const bytes = fromHex(text);
      if (bytes.length < 2) throw new Error(`a DUID needs at least 2 bytes: ${text}`);
      return duidFromBytes(bytes);
    }
  }
}
