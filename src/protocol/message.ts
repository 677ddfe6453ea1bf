/**
 * DHCPv6 messages: client/server messages, relay messages and the unknown-type fallback,
 * with the message registry and the top-level {@link parseMessage} / {@link serializeMessage}.
 * @module
 */

import { ParseError, SerializeError, ValidationError } from "./errors.ts";
import { need, Writer } from "./bytes.ts";
import { cacheClassConstants, type ClassConstants, hasClassConstants } from "./class_constant.ts";
import { addressKindOfText, formatIPv6, parseIPv6 } from "./ipv6.ts";
import { findOption, findOptions, type Option, parseOptions, writeOptions } from "./option.ts";
import { checkOccurrence, messageOccurrence } from "./occurrence.ts";

/** A class of message that can be registered: its type code, its name and its parser. */
export interface MessageType<T extends Message = Message> {
  /** The message type code (1-255). */
  readonly messageType: number;
  /** Lower-case name, e.g. `solicit`, `relay-forward`. */
  readonly messageName: string;
  /** Parse a whole message in `buf[start, end)` (including the type byte). */
  parse(buf: Uint8Array, start: number, end: number): T;
}

const MESSAGE_CONSTANTS: ClassConstants = [["type", "messageType"], ["name", "messageName"]];

/** Base of every DHCPv6 message. */
export abstract class Message {
  /** The options of the message, in wire order. */
  abstract options: Option[];

  /** Give the class's prototype its own copies of its statics (see class_constant.ts). */
  constructor() {
    if (!hasClassConstants(new.target)) cacheClassConstants(new.target, MESSAGE_CONSTANTS);
  }

  /** The message type code, taken from the class's static `messageType`. */
  get type(): number {
    return (this.constructor as unknown as { messageType: number }).messageType;
  }

  /** The lower-case message name. */
  get name(): string {
    return (this.constructor as unknown as { messageName: string }).messageName;
  }

  /** Append the whole message to `w`. */
  abstract write(w: Writer): void;

  /** Check the message against the protocol rules; throws {@link ValidationError}. */
  validate(): void {
    checkOccurrence(this.name, messageOccurrence.get(this.type), this.options);
    checkUniqueIaids(this.options, this.name);
    const options = this.options;
    for (let i = 0; i < options.length; i++) options[i].validate();
  }

  /** The first option of class `type`, if any. */
  getOption<T extends Option>(type: abstract new (...args: never[]) => T): T | undefined {
    return findOption(this.options, type);
  }

  /** Every option of class `type`, in order. */
  getOptions<T extends Option>(type: abstract new (...args: never[]) => T): T[] {
    return findOptions(this.options, type);
  }
}

/** An option carrying an IAID (IA_NA, IA_TA, IA_PD); used for the unique-IAID rule. */
export interface HasIaid {
  /** The identity association identifier. */
  iaid: number;
}

/** Throw when two IA options of the same code share an IAID. */
export function checkUniqueIaids(options: readonly Option[], where: string): void {
  // Messages carry a few IAs: a list is searched; a set takes over for many.
  let keys: Array<number | string> | undefined;
  let seen: Set<number | string> | undefined;
  for (const option of options) {
    const iaid = (option as unknown as Partial<HasIaid>).iaid;
    if (typeof iaid !== "number") continue;
    const key = iaKey(option);
    if (seen ? seen.has(key) : keys?.includes(key)) {
      throw new ValidationError(`${where} contains option ${option.code} with IAID ${iaid} twice`);
    }
    if (seen) seen.add(key);
    else if ((keys ??= []).push(key) > 8) seen = new Set(keys);
  }
}

/** One number per (option code, IAID) pair; values out of the wire ranges get a text key. */
function iaKey(option: Option): number | string {
  const code = option.code;
  const iaid = (option as unknown as HasIaid).iaid;
  return isUint(code, 0xffff) && isUint(iaid, 0xffffffff)
    ? code * 0x100000000 + iaid
    : `${code}:${iaid}`;
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

/** A client/server message: type, 24-bit transaction id and options. */
export abstract class ClientServerMessage extends Message {
  /** Create a message with a transaction id (0 to 0xffffff) and options. */
  constructor(public transactionId: number = 0, public options: Option[] = []) {
    super();
  }

  /** Append the message to `w`. */
  write(w: Writer): void {
    w.ensure(4);
    const b = w.buf;
    let p = w.pos;
    b[p++] = this.type;
    b[p++] = this.transactionId >>> 16;
    b[p++] = this.transactionId >>> 8;
    b[p++] = this.transactionId;
    w.pos = p;
    writeOptions(w, this.options);
  }

  /** Also checks the transaction id range. */
  override validate(): void {
    if (
      !Number.isInteger(this.transactionId) || this.transactionId < 0 ||
      this.transactionId > 0xffffff
    ) {
      throw new ValidationError(`transaction id ${this.transactionId} out of range`);
    }
    super.validate();
  }
}

/** Parse the common client/server layout into a new instance of `ctor`. */
export function parseClientServer<T extends ClientServerMessage>(
  ctor: new (transactionId: number, options: Option[]) => T,
  buf: Uint8Array,
  start: number,
  end: number,
): T {
  need(start, end, 4, "message header");
  const xid = (buf[start + 1] << 16) | (buf[start + 2] << 8) | buf[start + 3];
  return new ctor(xid, parseOptions(buf, start + 4, end));
}

/** Relay-Forward and Relay-Reply: hop count, link address, peer address and options. */
export abstract class RelayMessage extends Message {
  /**
   * The link and peer addresses as text and/or as their 16 bytes: a parsed message has the bytes
   * and makes the text only when asked for it; one made from text parses it only when written or
   * compared as bytes.
   */
  #link?: string;
  #linkBytes?: Uint8Array;
  #peer?: string;
  #peerBytes?: Uint8Array;

  /**
   * Create a relay message; the addresses are text or 16 bytes (which must not change
   * afterwards).
   */
  constructor(
    public hopCount: number = 0,
    linkAddress: string | Uint8Array = "::",
    peerAddress: string | Uint8Array = "::",
    public options: Option[] = [],
  ) {
    super();
    if (typeof linkAddress === "string") this.#link = linkAddress;
    else this.#linkBytes = checkAddressBytes(linkAddress);
    if (typeof peerAddress === "string") this.#peer = peerAddress;
    else this.#peerBytes = checkAddressBytes(peerAddress);
  }

  /** The fields as plain data (addresses as text), as they were before they became accessors. */
  toJSON(): Record<string, unknown> {
    const { hopCount, linkAddress, peerAddress, options } = this;
    return { hopCount, linkAddress, peerAddress, options };
  }

  /** The link address, as canonical text when it came as bytes. */
  get linkAddress(): string {
    return this.#link ??= formatIPv6(this.#linkBytes!);
  }

  /** Replace the link address. */
  set linkAddress(text: string) {
    this.#link = text;
    this.#linkBytes = undefined;
  }

  /** The peer address, as canonical text when it came as bytes. */
  get peerAddress(): string {
    return this.#peer ??= formatIPv6(this.#peerBytes!);
  }

  /** Replace the peer address. */
  set peerAddress(text: string) {
    this.#peer = text;
    this.#peerBytes = undefined;
  }

  /**
   * The 16 bytes of the link address (not to be modified); throws {@link SerializeError} when it
   * was set to text that is not an IPv6 address.
   */
  get linkAddressBytes(): Uint8Array {
    return this.#linkBytes ??= parseIPv6(this.#link!);
  }

  /** The 16 bytes of the peer address, as {@link RelayMessage.linkAddressBytes}. */
  get peerAddressBytes(): Uint8Array {
    return this.#peerBytes ??= parseIPv6(this.#peer!);
  }

  /**
   * Give `to` the link and peer addresses of `from` as `from` holds them (text and/or bytes),
   * so that copying a relay layer neither formats nor parses them.
   */
  static copyAddresses(from: RelayMessage, to: RelayMessage): void {
    to.#link = from.#link;
    to.#linkBytes = from.#linkBytes;
    to.#peer = from.#peer;
    to.#peerBytes = from.#peerBytes;
  }

  /** Append the message to `w`. */
  write(w: Writer): void {
    w.ensure(2);
    w.buf[w.pos++] = this.type;
    w.buf[w.pos++] = this.hopCount;
    w.addressBytes(this.linkAddressBytes);
    w.addressBytes(this.peerAddressBytes);
    writeOptions(w, this.options);
  }

  /** Also checks the hop count range and that the addresses are not multicast. */
  override validate(): void {
    if (!Number.isInteger(this.hopCount) || this.hopCount < 0 || this.hopCount > 255) {
      throw new ValidationError(`hop count ${this.hopCount} out of range`);
    }
    if (this.#link === undefined) {
      if (this.#linkBytes![0] === 0xff) throw new ValidationError("link address is multicast");
    } else checkNotMulticast(this.#link, "link address");
    if (this.#peer === undefined) {
      if (this.#peerBytes![0] === 0xff) throw new ValidationError("peer address is multicast");
    } else checkNotMulticast(this.#peer, "peer address");
    super.validate();
  }
}

/** `address` when it has the 16 bytes of an IPv6 address; throws {@link SerializeError} if not. */
function checkAddressBytes(address: Uint8Array): Uint8Array {
  if (!(address instanceof Uint8Array) || address.length !== 16) {
    throw new SerializeError(`an IPv6 address has 16 bytes, not ${address?.length}`);
  }
  return address;
}

/** Throw a {@link ValidationError} unless `address` is a non-multicast IPv6 address. */
function checkNotMulticast(address: string, what: string): void {
  const kind = addressKindOfText(address);
  if (kind === undefined) throw new ValidationError(`${what} ${address} is not an IPv6 address`);
  if (kind === "multicast") throw new ValidationError(`${what} is multicast`);
}

/** Parse the common relay layout into a new instance of `ctor`. */
export function parseRelay<T extends RelayMessage>(
  ctor: new (
    hopCount: number,
    link: string | Uint8Array,
    peer: string | Uint8Array,
    options: Option[],
  ) => T,
  buf: Uint8Array,
  start: number,
  end: number,
): T {
  need(start, end, 34, "relay message header");
  return new ctor(
    buf[start + 1],
    buf.subarray(start + 2, start + 18),
    buf.subarray(start + 18, start + 34),
    parseOptions(buf, start + 34, end),
  );
}

/** A message of a type without a registered class: kept as raw bytes after the type byte. */
export class UnknownMessage extends Message {
  /** The name used for messages without a registered class. */
  static readonly messageName = "unknown";
  /** Unknown messages have no parsed options. */
  options: Option[] = [];

  /** Create an unknown message with its type code and the raw bytes after the type byte. */
  constructor(public messageTypeCode: number, public data: Uint8Array) {
    super();
  }

  /** The type code as received. */
  override get type(): number {
    return this.messageTypeCode;
  }

  /** Write the type byte and the raw data back. */
  write(w: Writer): void {
    w.u8(this.messageTypeCode);
    w.bytes(this.data);
  }

  /** Unknown messages are never valid requests. */
  override validate(): void {
    throw new ValidationError(`unknown message type ${this.messageTypeCode}`);
  }
}

/** Type code -> message class for every registered message type. */
export const messageTypes: Map<number, MessageType> = new Map();
/** Name -> message class for every registered message type. */
export const messageTypesByName: Map<string, MessageType> = new Map();

/** Register a message class under its type code. */
export function registerMessage(type: MessageType): void {
  messageTypes.set(type.messageType, type);
  messageTypesByName.set(type.messageName, type);
}

/** Size of the slabs that {@link privateCopy} carves copies of small messages from. */
const SLAB_SIZE = 8192;
/** Copies of messages up to this size share slabs; larger ones get a buffer of their own. */
const SLAB_MAX_COPY = 1024;
let slab = new Uint8Array(SLAB_SIZE);
let slabPos = 0;

/**
 * A copy of `bytes` that nobody else writes to. Small messages are copied into a shared slab
 * (one allocation for many messages instead of one buffer each: fewer `malloc`s and less for the
 * garbage collector to track); a slab is never reused, only dropped when it is full, so the copies
 * stay valid as long as anything holds them (and hold at most {@link SLAB_SIZE} bytes alive).
 */
function privateCopy(bytes: Uint8Array): Uint8Array {
  const n = bytes.length;
  if (n > SLAB_MAX_COPY) return bytes.slice();
  if (slabPos + n > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabPos = 0;
  }
  const start = slabPos;
  slab.set(bytes, start);
  slabPos = start + n;
  return slab.subarray(start, start + n);
}

/** Parse one message filling exactly `buf[start, end)`. */
export function parseMessageAt(buf: Uint8Array, start: number, end: number): Message {
  if (end <= start) throw new ParseError(start, "empty message");
  const code = buf[start];
  const type = messageTypes.get(code);
  if (!type) return new UnknownMessage(code, buf.subarray(start + 1, end));
  return type.parse(buf, start, end);
}

/**
 * Parse a DHCPv6 message from its wire bytes. Throws only {@link ParseError}; does not validate
 * (call `message.validate()` for the protocol rules).
 */
export function parseMessage(bytes: Uint8Array): Message {
  try {
    // One private copy: every byte field of the result is a view into it.
    const own = privateCopy(bytes);
    return parseMessageAt(own, 0, own.length);
  } catch (e) {
    if (e instanceof ParseError) throw e;
    // Defence in depth: no other error type may escape a parse.
    throw new ParseError(0, `internal parser error: ${(e as Error)?.message ?? e}`);
  }
}

const sharedWriter = new Writer(2048);

/** Serialise a message to new wire bytes. */
export function serializeMessage(message: Message): Uint8Array {
  sharedWriter.reset();
  message.write(sharedWriter);
  return sharedWriter.toBytes();
}

/**
 * Append a message's wire bytes to `writer` and return a view of them (no copy). The view is
 * valid until `writer` is reset: copy it before that if it must live longer.
 */
export function serializeMessageInto(message: Message, writer: Writer): Uint8Array {
  const start = writer.pos;
  message.write(writer);
  return writer.buf.subarray(start, writer.pos);
}
