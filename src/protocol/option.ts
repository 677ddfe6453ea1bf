/**
 * The option base class, the unknown-option fallback and the option list codec.
 * @module
 */

import { ParseError, ValidationError } from "./errors.ts";
import { need, Writer } from "./bytes.ts";
import { cacheClassConstants, type ClassConstants, hasClassConstants } from "./class_constant.ts";

/** A class of option that can be registered: its code, its config name and its parser. */
export interface OptionType<T extends Option = Option> {
  /** The option code (0-65535). */
  readonly code: number;
  /** The lower-case name used in configuration and tools, e.g. `recursive-name-servers`. */
  readonly optionName: string;
  /** Parse the option data in `buf[start, end)` (after code and length). */
  parse(buf: Uint8Array, start: number, end: number): T;
  /** The class's prototype, so `instanceof` checks work with registered types. */
  readonly prototype: T;
}

const OPTION_CONSTANTS: ClassConstants = [["code", "code"]];

/** Base of every DHCPv6 option (code + data). Subclasses implement {@link Option.writeData}. */
export abstract class Option {
  /** Give the class's prototype its own copy of the static `code` (see class_constant.ts). */
  constructor() {
    if (!hasClassConstants(new.target)) cacheClassConstants(new.target, OPTION_CONSTANTS);
  }

  /**
   * The option code, taken from the class's static `code`. Each class's first instance copies
   * it onto the class's prototype, so this getter only answers objects not made by a constructor.
   */
  get code(): number {
    return (this.constructor as unknown as { code: number }).code;
  }

  /** Append the option data (without code and length) to `w`. */
  abstract writeData(w: Writer): void;

  /** Append the whole option (code, length, data) to `w`. */
  write(w: Writer): void {
    const start = w.beginTLV(this.code);
    this.writeData(w);
    w.endTLV(start);
  }

  /** Check the option's values against the protocol rules; throws {@link ValidationError}. */
  validate(): void {}
}

/**
 * Encode `option` once and make it write those bytes from now on: for a fixed option that every
 * reply carries (one from the configuration). The option and its array fields are frozen, so a
 * later change throws instead of being silently left out of the bytes (options nested in an
 * array are not frozen: they must not change either). An option that cannot be encoded is left
 * as it is (its error then comes when a reply is written). Returns `option`.
 */
export function preEncode<T extends Option>(option: T): T {
  if (Object.isFrozen(option)) return option;
  let bytes: Uint8Array;
  try {
    const w = new Writer(64);
    option.write(w);
    bytes = w.buf.slice(0, w.pos);
  } catch {
    return option;
  }
  for (const value of Object.values(option)) if (Array.isArray(value)) Object.freeze(value);
  Object.defineProperty(option, "write", { value: (w: Writer) => w.bytes(bytes) });
  return Object.freeze(option);
}

/** An option whose code has no registered class: kept as raw bytes and re-emitted unchanged. */
export class UnknownOption extends Option {
  /** The name used for options without a registered class. */
  static readonly optionName = "unknown";

  /** Create an unknown option with its code and raw data. */
  constructor(public optionCode: number, public data: Uint8Array) {
    super();
  }

  /** The option code as received. */
  override get code(): number {
    return this.optionCode;
  }

  /** Write the raw data back. */
  writeData(w: Writer): void {
    w.bytes(this.data);
  }

  /** Unknown options are always accepted as long as they fit a length field. */
  override validate(): void {
    if (this.data.length > 0xffff) throw new ValidationError("option data too long");
  }
}

/** Code -> option class for every registered option. */
export const optionTypes: Map<number, OptionType> = new Map();

/** Name -> option class for every registered option. */
export const optionTypesByName: Map<string, OptionType> = new Map();

/** Register an option class under its code (replacing an earlier registration of that code). */
export function registerOption(type: OptionType): void {
  optionTypes.set(type.code, type);
  optionTypesByName.set(type.optionName, type);
}

const MAX_DEPTH = 40;
let depth = 0;

/**
 * Parse a sequence of options filling exactly `buf[start, end)`, looking codes up in `registry`.
 * Nesting deeper than a fixed limit is rejected so hostile input cannot exhaust the stack.
 */
export function parseOptions(
  buf: Uint8Array,
  start: number,
  end: number,
  registry: Map<number, OptionType> = optionTypes,
): Option[] {
  if (++depth > MAX_DEPTH) {
    depth--;
    throw new ParseError(start, `options nested deeper than ${MAX_DEPTH} levels`);
  }
  try {
    const options: Option[] = [];
    let pos = start;
    while (pos < end) {
      need(pos, end, 4, "option header");
      const code = (buf[pos] << 8) | buf[pos + 1];
      const length = (buf[pos + 2] << 8) | buf[pos + 3];
      const dataStart = pos + 4;
      const dataEnd = dataStart + length;
      if (dataEnd > end) {
        throw new ParseError(
          pos + 2,
          `option ${code} claims ${length} bytes but only ${end - dataStart} are left`,
        );
      }
      const type = registry.get(code);
      options.push(
        type
          ? type.parse(buf, dataStart, dataEnd)
          : new UnknownOption(code, buf.subarray(dataStart, dataEnd)),
      );
      pos = dataEnd;
    }
    return options;
  } finally {
    depth--;
  }
}

/** Append every option of `options` to `w`. */
export function writeOptions(w: Writer, options: readonly Option[]): void {
  for (let i = 0; i < options.length; i++) options[i].write(w);
}

/** Serialise one option (code, length, data) to new bytes. */
export function optionToBytes(option: Option): Uint8Array {
  const w = new Writer(64);
  option.write(w);
  return w.toBytes();
}

const isPrototypeOf = Object.prototype.isPrototypeOf;

/**
 * True when `proto` is in the prototype chain of `value`: what `value instanceof C` answers for a
 * class `C` whose prototype is `proto`, without the generic lookup of `Symbol.hasInstance` that
 * makes `instanceof` slow where the class changes from call to call. Take `C.prototype` once,
 * outside loops.
 */
export function hasPrototype(value: unknown, proto: object): boolean {
  return isPrototypeOf.call(proto, value as object);
}

/** The first option of class `type` in `options`, if any. */
export function findOption<T extends Option>(
  options: readonly Option[],
  type: abstract new (...args: never[]) => T,
): T | undefined {
  const proto: object = type.prototype;
  for (let i = 0; i < options.length; i++) {
    if (hasPrototype(options[i], proto)) return options[i] as T;
  }
  return undefined;
}

/** Every option of class `type` in `options`, in order. */
export function findOptions<T extends Option>(
  options: readonly Option[],
  type: abstract new (...args: never[]) => T,
): T[] {
  const proto: object = type.prototype;
  const out: T[] = [];
  for (let i = 0; i < options.length; i++) {
    if (hasPrototype(options[i], proto)) out.push(options[i] as T);
  }
  return out;
}
