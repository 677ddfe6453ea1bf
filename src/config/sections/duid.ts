/**
 * DUID sections; at the top level, named `server-id`, they set the server's own DUID.
 *
 * @module
 */

import { choice, duidTime, enterpriseNumber, hardwareType, hexBytes, uuid } from "../datatypes.ts";
import { defineSection, type NameSpec } from "../schema.ts";

/** Values of `<duid-en>` (DUID type 2). */
export interface DuidEnValues {
  /** IANA Private Enterprise Number. */
  enterpriseNumber: number;
  /** Identifier bytes assigned by that enterprise. */
  identifier: Uint8Array;
}

/** Values of `<duid-ll>` (DUID type 3). */
export interface DuidLlValues {
  /** IANA hardware type (1 = Ethernet). */
  hardwareType: number;
  /** Link-layer address bytes. */
  linkLayerAddress: Uint8Array;
}

/** Values of `<duid-llt>` (DUID type 1). */
export interface DuidLltValues extends DuidLlValues {
  /** Time in seconds since 2000-01-01T00:00:00Z (RFC 8415). */
  timestamp: number;
}

/** Values of `<duid-uuid>` (DUID type 4, RFC 6355). */
export interface DuidUuidValues {
  /** The 16 UUID bytes. */
  uuid: Uint8Array;
}

const serverIdName: NameSpec = {
  type: choice("DUID role", ["server-id"]),
  required: false,
  description: "`server-id`: this DUID identifies the server. It may be left out.",
};

const hardwareTypeKey = {
  name: "hardware-type",
  type: hardwareType,
  required: true,
  description: "IANA hardware type of the link-layer address; Ethernet is 1.",
  example: "1",
};

/** `<duid-en>` section. */
export const duidEnSection = defineSection<DuidEnValues>({
  type: "duid-en",
  kind: "duid",
  description: "A DUID made of an IANA enterprise number and an identifier chosen by that " +
    "enterprise (DUID-EN, type 2).",
  example: [
    "<duid-en server-id>",
    "    enterprise-number 40208",
    "    identifier 12:34:56:78:90:ab:cd:ef",
    "</duid-en>",
  ].join("\n"),
  name: serverIdName,
  keys: [
    {
      name: "enterprise-number",
      type: enterpriseNumber,
      required: true,
      description: "Private Enterprise Number registered with IANA.",
      example: "40208",
    },
    {
      name: "identifier",
      type: hexBytes({ max: 122 }),
      required: true,
      description: "The identifier in hexadecimal; octets may be separated by colons.",
      example: "12:34:56:78:90:ab:cd:ef:ca:fe:be:ef",
    },
  ],
});

/** `<duid-ll>` section. */
export const duidLlSection = defineSection<DuidLlValues>({
  type: "duid-ll",
  kind: "duid",
  description: "A DUID made of a hardware type and a link-layer address (DUID-LL, type 3).",
  example: [
    "<duid-ll server-id>",
    "    hardware-type 1",
    "    link-layer-address 00:24:36:ef:1d:89",
    "</duid-ll>",
  ].join("\n"),
  name: serverIdName,
  keys: [hardwareTypeKey, {
    name: "link-layer-address",
    type: hexBytes({ max: 124 }),
    required: true,
    description: "The link-layer address in hexadecimal; octets may be separated by colons.",
    example: "00:24:36:ef:1d:89",
  }],
});

/** `<duid-llt>` section. */
export const duidLltSection = defineSection<DuidLltValues>({
  type: "duid-llt",
  kind: "duid",
  description: "A DUID made of a hardware type, a link-layer address and a time (DUID-LLT, " +
    "type 1). The time is stored as seconds since 2000-01-01 UTC, as RFC 8415 defines it.",
  example: [
    "<duid-llt server-id>",
    "    hardware-type 1",
    "    link-layer-address 00:24:36:ef:1d:89",
    "    timestamp 2016-12-31T23:59:59Z",
    "</duid-llt>",
  ].join("\n"),
  name: serverIdName,
  keys: [
    hardwareTypeKey,
    {
      name: "link-layer-address",
      type: hexBytes({ max: 120 }),
      required: true,
      description: "The link-layer address in hexadecimal; octets may be separated by colons.",
      example: "00:24:36:ef:1d:89",
    },
    {
      name: "timestamp",
      type: duidTime,
      required: true,
      description: "When the DUID was created, in UTC, written `YYYY-MM-DDTHH:MM:SSZ`.",
      example: "2016-12-31T23:59:59Z",
    },
  ],
});

/** `<duid-uuid>` section. */
export const duidUuidSection = defineSection<DuidUuidValues>({
  type: "duid-uuid",
  kind: "duid",
  description: "A DUID holding a UUID (DUID-UUID, type 4, RFC 6355).",
  example: [
    "<duid-uuid server-id>",
    "    uuid 3f2504e0-4f89-11d3-9a0c-0305e82c3301",
    "</duid-uuid>",
  ].join("\n"),
  name: serverIdName,
  keys: [{
    name: "uuid",
    type: uuid,
    required: true,
    description: "The UUID, with or without dashes.",
    example: "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
  }],
});
