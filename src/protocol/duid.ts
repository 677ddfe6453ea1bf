/**
 * DHCP Unique Identifiers: DUID-LLT, DUID-EN, DUID-LL, DUID-UUID and unknown types kept raw.
 * @module
 */

import { ParseError, ValidationError } from "./errors.ts";
import { readBytes, readU16, readU32, toHex, Writer } from "./bytes.ts";
import { cacheClassConstants, type ClassConstants, hasClassConstants } from "./class_constant.ts";

/** A class of DUID that can be registered: its type code, its name and its parser. */
export interface DuidType<T extends Duid = Duid> {
  /** The DUID type code. */
  readonly duidType: number;
  /** Lower-case name, e.g. `link-layer`. */
  readonly duidName: string;
  /** Parse the DUID data in `buf[start, end)` (after the 2-byte type). */
  parse(buf: Uint8Array, start: number, end: number): T;
}

const DUID_CONSTANTS: ClassConstants = [["type", "duidType"]];

/** Base of every DUID. */
export abstract class Duid {
  /** Give the class's prototype its own copy of the static `duidType` (see class_constant.ts). */
  constructor() {
    if (!hasClassConstants(new.target)) cacheClassConstants(new.target, DUID_CONSTANTS);
  }

  /** The DUID type code, from the class's static `duidType`. */
  get type(): number {
    return (this.constructor as unknown as { duidType: number }).duidType;
  }

  /** Append the data after the 2-byte type. */
  abstract writeData(w: Writer): void;

  /** Append the whole DUID (type + data). */
  write(w: Writer): void {
    w.u16(this.type);
    this.writeData(w);
  }

  /** The whole DUID as bytes. */
  toBytes(): Uint8Array {
    scratch.reset();
    this.write(scratch);
    return scratch.toBytes();
  }

  /** The whole DUID as lower-case hex (the canonical key used by assignments and stores). */
  toHex(): string {
    scratch.reset();
    this.write(scratch);
    return toHex(scratch.buf.subarray(0, scratch.pos));
  }

  /** True when `other` encodes to the same bytes (no allocation). */
  equals(other: Duid): boolean {
    if (other === this) return true;
    scratch.reset();
    this.write(scratch);
    const middle = scratch.pos;
    other.write(scratch);
    if (scratch.pos - middle !== middle) return false;
    const b = scratch.buf;
    for (let i = 0; i < middle; i++) if (b[i] !== b[middle + i]) return false;
    return true;
  }

  /** Check the length rules (at most 128 bytes in all). */
  validate(): void {
    scratch.reset();
    this.write(scratch);
    const length = scratch.pos;
    if (length > 130) throw new ValidationError(`DUID is ${length - 2} bytes long, more than 128`);
  }
}

/** Scratch space for encoding DUIDs without allocating; never held across calls. */
const scratch = new Writer(256);

/** DUID-LLT (1): hardware type, time (seconds since 2000-01-01 UTC) and link-layer address. */
export class LinkLayerTimeDuid extends Duid {
  /** DUID type code. */
  static readonly duidType = 1;
  /** DUID name. */
  static readonly duidName = "link-layer-time";

  /** Create a DUID-LLT. */
  constructor(
    public hardwareType: number = 1,
    public time: number = 0,
    public linkLayerAddress: Uint8Array = new Uint8Array(0),
  ) {
    super();
  }

  /** Parse the data after the type. */
  static parse(buf: Uint8Array, start: number, end: number): LinkLayerTimeDuid {
    return new LinkLayerTimeDuid(
      readU16(buf, start, end, "DUID-LLT hardware type"),
      readU32(buf, start + 2, end, "DUID-LLT time"),
      readBytes(buf, start + 6, end, end - start - 6),
    );
  }

  /** Append the data after the type. */
  writeData(w: Writer): void {
    w.u16(this.hardwareType);
    w.u32(this.time);
    w.bytes(this.linkLayerAddress);
  }

  /** At most 120 bytes of link-layer address. */
  override validate(): void {
    if (this.linkLayerAddress.length > 120) {
      throw new ValidationError("DUID-LLT address longer than 120 bytes");
    }
    super.validate();
  }
}

/** DUID-EN (2): enterprise number and identifier. */
export class EnterpriseDuid extends Duid {
  /** DUID type code. */
  static readonly duidType = 2;
  /** DUID name. */
  static readonly duidName = "enterprise";

  /** Create a DUID-EN. */
  constructor(
    public enterpriseNumber: number = 0,
    public identifier: Uint8Array = new Uint8Array(0),
  ) {
    super();
  }

  /** Parse the data after the type. */
  static parse(buf: Uint8Array, start: number, end: number): EnterpriseDuid {
    return new EnterpriseDuid(
      readU32(buf, start, end, "DUID-EN enterprise number"),
      readBytes(buf, start + 4, end, end - start - 4),
    );
  }

  /** Append the data after the type. */
  writeData(w: Writer): void {
    w.u32(this.enterpriseNumber);
    w.bytes(this.identifier);
  }

  /** At most 122 bytes of identifier. */
  override validate(): void {
    if (this.identifier.length > 122) {
      throw new ValidationError("DUID-EN identifier longer than 122 bytes");
    }
    super.validate();
  }
}

/** DUID-LL (3): hardware type and link-layer address. */
export class LinkLayerDuid extends Duid {
  /** DUID type code. */
  static readonly duidType = 3;
  /** DUID name. */
  static readonly duidName = "link-layer";

  /** Create a DUID-LL. */
  constructor(
    public hardwareType: number = 1,
    public linkLayerAddress: Uint8Array = new Uint8Array(0),
  ) {
    super();
  }

  /** Parse the data after the type. */
  static parse(buf: Uint8Array, start: number, end: number): LinkLayerDuid {
    return new LinkLayerDuid(
      readU16(buf, start, end, "DUID-LL hardware type"),
      readBytes(buf, start + 2, end, end - start - 2),
    );
  }

  /** Append the data after the type. */
  writeData(w: Writer): void {
    w.u16(this.hardwareType);
    w.bytes(this.linkLayerAddress);
  }

  /** At most 124 bytes of link-layer address. */
  override validate(): void {
    if (this.linkLayerAddress.length > 124) {
      throw new ValidationError("DUID-LL address longer than 124 bytes");
    }
    super.validate();
  }
}

/** DUID-UUID (4, RFC 6355): a 16-byte UUID. */
export class UuidDuid extends Duid {
  /** DUID type code. */
  static readonly duidType = 4;
  /** DUID name. */
  static readonly duidName = "uuid";

  /** Create a DUID-UUID. */
  constructor(public uuid: Uint8Array = new Uint8Array(16)) {
    super();
  }

  /** Parse the data after the type; it must be exactly 16 bytes. */
  static parse(buf: Uint8Array, start: number, end: number): UuidDuid {
    if (end - start !== 16) {
      throw new ParseError(start, `DUID-UUID must be 16 bytes, not ${end - start}`);
    }
    return new UuidDuid(buf.subarray(start, end));
  }

  /** Append the data after the type. */
  writeData(w: Writer): void {
    w.bytes(this.uuid);
  }

  /** Exactly 16 bytes. */
  override validate(): void {
    if (this.uuid.length !== 16) throw new ValidationError("DUID-UUID must be 16 bytes");
  }
}

/** A DUID of an unregistered type, kept raw. */
export class UnknownDuid extends Duid {
  /** The name used for DUIDs without a registered class. */
  static readonly duidName = "unknown";

  /** Create an unknown DUID from its type and raw data. */
  constructor(public duidTypeCode: number, public data: Uint8Array) {
    super();
  }

  /** The type code as received. */
  override get type(): number {
    return this.duidTypeCode;
  }

  /** Append the raw data. */
  writeData(w: Writer): void {
    w.bytes(this.data);
  }
}

/** Type code -> DUID class. */
export const duidTypes: Map<number, DuidType> = new Map();

/** Register a DUID class under its type code. */
export function registerDuid(type: DuidType): void {
  duidTypes.set(type.duidType, type);
}

for (const t of [LinkLayerTimeDuid, EnterpriseDuid, LinkLayerDuid, UuidDuid]) registerDuid(t);

/** Parse a DUID filling exactly `buf[start, end)`. */
export function parseDuid(buf: Uint8Array, start: number, end: number): Duid {
  const code = readU16(buf, start, end, "DUID type");
  const type = duidTypes.get(code);
  return type
    ? type.parse(buf, start + 2, end)
    : new UnknownDuid(code, buf.subarray(start + 2, end));
}

/** Parse a DUID from its whole bytes. */
export function duidFromBytes(bytes: Uint8Array): Duid {
  return parseDuid(bytes, 0, bytes.length);
}

/** Seconds between the Unix epoch and the DUID-LLT epoch (2000-01-01T00:00:00Z). */
export const DUID_TIME_EPOCH = 946684800;
