/**
 * The in-memory table of CSV static assignments, kept in one `SharedArrayBuffer` so that every
 * worker of a server can read the same table: the main thread loads the file once and posts the
 * buffer to the workers (`sharedDataFor` in the static extension), which wrap it without copying.
 *
 * Layout of the buffer (little-endian host order; every part is a typed-array view):
 *
 * | part | type | length | content |
 * |---|---|---|---|
 * | header | Int32 | 5 | magic, rows, slots, key bytes, data rows read (usable or not) |
 * | slots | Int32 | slots (power of two) | row + 1, or 0 for an empty slot (linear probing) |
 * | hashes | Uint32 | rows | FNV-1a hash of each row's key |
 * | key starts | Uint32 | rows + 1 | where each key starts in the key bytes |
 * | lines | Int32 | rows | line of the file each row came from |
 * | rows | Uint8 | rows × 34 | flags, 16 address bytes, 16 prefix bytes, prefix length |
 * | key bytes | Uint8 | key bytes | the canonical keys (ASCII), one after the other |
 *
 * Canonical keys are ASCII (see `ids.ts`), so a key is compared with the stored bytes character
 * by character, without encoding it. A table never changes once built; a reload builds a new one.
 * @module
 */

import { formatIPv6, IPv6Prefix } from "../../../protocol/mod.ts";
import { addressInto, type Assignment, prefixInto } from "../ids.ts";

/** Bytes per row: flags, 16 address bytes, 16 prefix bytes, prefix length. */
const ROW_BYTES = 34;
const HAS_ADDRESS = 1;
const HAS_PREFIX = 2;
const HEADER_INTS = 5;
/** First header word: marks a buffer holding an assignment table of this layout. */
const MAGIC = 0x44_4b_53_31; // "DKS1"

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a hash of the character codes of `key`. */
function hashKey(key: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

/** The smallest power of two that keeps the slots at most half full for `rows` rows. */
function slotsFor(rows: number): number {
  let n = 16;
  while (n < rows * 2) n *= 2;
  return n;
}

/** The typed-array views of a table buffer. */
interface Parts {
  slots: Int32Array<ArrayBufferLike>;
  hashes: Uint32Array<ArrayBufferLike>;
  keyStarts: Uint32Array<ArrayBufferLike>;
  lines: Int32Array<ArrayBufferLike>;
  rows: Uint8Array<ArrayBufferLike>;
  keys: Uint8Array<ArrayBufferLike>;
}

/** Views of the parts of a table buffer of `rows` rows, `slots` slots and `keyBytes` key bytes. */
function partsOf(buffer: ArrayBufferLike, rows: number, slots: number, keyBytes: number): Parts {
  let at = HEADER_INTS * 4;
  const ints = <T>(make: new (b: ArrayBufferLike, o: number, n: number) => T, n: number): T => {
    const view = new make(buffer, at, n);
    at += n * 4;
    return view;
  };
  const slotView = ints(Int32Array, slots);
  const hashes = ints(Uint32Array, rows);
  const keyStarts = ints(Uint32Array, rows + 1);
  const lines = ints(Int32Array, rows);
  const rowView = new Uint8Array(buffer, at, rows * ROW_BYTES);
  at += rows * ROW_BYTES;
  return {
    slots: slotView,
    hashes,
    keyStarts,
    lines,
    rows: rowView,
    keys: new Uint8Array(buffer, at, keyBytes),
  };
}

/**
 * The row of `key` (hash `hash`) in the open-addressing `slots` (row + 1, 0 for empty) over the
 * rows' `hashes`, `keyStarts` and `keys` bytes, or -1.
 */
function findRow(
  slots: Int32Array<ArrayBufferLike>,
  hashes: Uint32Array<ArrayBufferLike>,
  keyStarts: Uint32Array<ArrayBufferLike>,
  keys: Uint8Array<ArrayBufferLike>,
  key: string,
  hash: number,
): number {
  const mask = slots.length - 1;
  for (let i = candidate(slots, hashes, keyStarts, hash, key.length, hash & mask); i >= 0;) {
    const row = slots[i] - 1, start = keyStarts[row];
    let k = 0;
    while (k < key.length && keys[start + k] === key.charCodeAt(k)) k++;
    if (k === key.length) return row;
    i = candidate(slots, hashes, keyStarts, hash, key.length, (i + 1) & mask);
  }
  return -1;
}

/**
 * Linear probing from slot `i` on: the first slot whose row has `hash` and a key of `length`
 * bytes, or -1 when an empty slot ends the probe.
 */
function candidate(
  slots: Int32Array<ArrayBufferLike>,
  hashes: Uint32Array<ArrayBufferLike>,
  keyStarts: Uint32Array<ArrayBufferLike>,
  hash: number,
  length: number,
  i: number,
): number {
  const mask = slots.length - 1;
  for (;; i = (i + 1) & mask) {
    const slot = slots[i];
    if (slot === 0) return -1;
    const row = slot - 1;
    if (hashes[row] === hash && keyStarts[row + 1] - keyStarts[row] === length) return i;
  }
}

/** Character codes of the lower-case hex digits. */
const HEX_CODES = new Uint8Array([..."0123456789abcdef"].map((c) => c.charCodeAt(0)));

/** The row of the key `prefix` + lower-case hex of `data`, or -1 (see {@link findRow}). */
function findHexRow(
  slots: Int32Array<ArrayBufferLike>,
  hashes: Uint32Array<ArrayBufferLike>,
  keyStarts: Uint32Array<ArrayBufferLike>,
  keys: Uint8Array<ArrayBufferLike>,
  prefix: string,
  data: Uint8Array,
): number {
  // The same FNV-1a hash as hashKey, over the characters the key would have.
  let h = FNV_OFFSET;
  for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ prefix.charCodeAt(i), FNV_PRIME);
  for (let i = 0; i < data.length; i++) {
    h = Math.imul(h ^ HEX_CODES[data[i] >> 4], FNV_PRIME);
    h = Math.imul(h ^ HEX_CODES[data[i] & 15], FNV_PRIME);
  }
  const hash = h >>> 0;
  const length = prefix.length + 2 * data.length;
  const mask = slots.length - 1;
  for (let i = candidate(slots, hashes, keyStarts, hash, length, hash & mask); i >= 0;) {
    const row = slots[i] - 1;
    if (sameHexKey(keys, keyStarts[row], prefix, data)) return row;
    i = candidate(slots, hashes, keyStarts, hash, length, (i + 1) & mask);
  }
  return -1;
}

/** Whether the key bytes from `start` on are `prefix` followed by the lower-case hex of `data`. */
function sameHexKey(
  keys: Uint8Array<ArrayBufferLike>,
  start: number,
  prefix: string,
  data: Uint8Array,
): boolean {
  let k = start;
  for (let i = 0; i < prefix.length; i++) if (keys[k++] !== prefix.charCodeAt(i)) return false;
  for (let i = 0; i < data.length; i++) {
    if (keys[k++] !== HEX_CODES[data[i] >> 4] || keys[k++] !== HEX_CODES[data[i] & 15]) {
      return false;
    }
  }
  return true;
}

/** Bytes of a table buffer of `rows` rows, `slots` slots and `keyBytes` key bytes. */
function bufferBytes(rows: number, slots: number, keyBytes: number): number {
  return (HEADER_INTS + slots + rows * 3 + 1) * 4 + rows * ROW_BYTES + keyBytes;
}

/**
 * A read-only table of assignments over one buffer (shared or not); made by
 * {@link AssignmentTableBuilder.build} or from a buffer another thread built
 * ({@link AssignmentTable.fromBuffer}).
 */
export class AssignmentTable {
  readonly #parts: Parts;

  private constructor(
    readonly buffer: SharedArrayBuffer,
    readonly size: number,
    parts: Parts,
    /** Data rows of the file the table was built from, usable or not (for the bad-data guard). */
    readonly rowsRead: number,
  ) {
    this.#parts = parts;
  }

  /**
   * Wrap a buffer made by {@link AssignmentTableBuilder.build} (in any thread); throws when it
   * holds no table.
   */
  static fromBuffer(buffer: SharedArrayBuffer): AssignmentTable {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < HEADER_INTS * 4) {
      throw new Error("not an assignment table buffer");
    }
    const [magic, rows, slots, keyBytes, rowsRead] = new Int32Array(buffer, 0, HEADER_INTS);
    if (magic !== MAGIC || buffer.byteLength !== bufferBytes(rows, slots, keyBytes)) {
      throw new Error("not an assignment table buffer");
    }
    return new AssignmentTable(buffer, rows, partsOf(buffer, rows, slots, keyBytes), rowsRead);
  }

  /** The row of `key`, or -1. */
  #find(key: string): number {
    const { slots, hashes, keyStarts, keys } = this.#parts;
    return findRow(slots, hashes, keyStarts, keys, key, hashKey(key));
  }

  /** The assignment of `key`, if any. */
  get(key: string): Assignment | undefined {
    const row = this.#find(key);
    return row < 0 ? undefined : this.#assignment(row);
  }

  /**
   * The assignment of the key `prefix` followed by the lower-case hex of `data` (what
   * `get(prefix + hexOf(data))` answers), without building that string: the hash and the
   * comparison read the hex digits straight from the bytes.
   */
  getHex(prefix: string, data: Uint8Array): Assignment | undefined {
    const { slots, hashes, keyStarts, keys } = this.#parts;
    const row = findHexRow(slots, hashes, keyStarts, keys, prefix, data);
    return row < 0 ? undefined : this.#assignment(row);
  }

  #assignment(row: number): Assignment {
    const bytes = this.#parts.rows, offset = row * ROW_BYTES;
    const flags = bytes[offset];
    // Views into the row (no copies: a new ArrayBuffer per answer costs more than the lookup);
    // a table never changes a row once built.
    return new RowAssignment(
      flags & HAS_ADDRESS ? bytes.subarray(offset + 1, offset + 17) : undefined,
      flags & HAS_PREFIX
        ? IPv6Prefix.ofNetwork(bytes.subarray(offset + 17, offset + 33), bytes[offset + 33])
        : undefined,
    );
  }

  /** The line of the file that assigns `key`, if any. */
  lineOf(key: string): number | undefined {
    const row = this.#find(key);
    return row < 0 ? undefined : this.#parts.lines[row];
  }
}

/** An assignment read from a table row, its address kept as bytes and formatted when asked for. */
class RowAssignment implements Assignment {
  #address?: string;

  constructor(readonly addressBytes?: Uint8Array, readonly prefix?: IPv6Prefix) {}

  get address(): string | undefined {
    if (!this.addressBytes) return undefined;
    return this.#address ??= formatIPv6(this.addressBytes);
  }
}

/** Double `array`'s length until it holds `needed` elements. */
function grown<T extends Uint8Array | Uint32Array | Int32Array>(array: T, needed: number): T {
  if (needed <= array.length) return array;
  let n = array.length * 2;
  while (n < needed) n *= 2;
  const bigger = new (array.constructor as new (n: number) => T)(n);
  bigger.set(array);
  return bigger;
}

/**
 * Collects rows (first row of a key wins) in growing private arrays, then
 * {@link AssignmentTableBuilder.build} copies them into one `SharedArrayBuffer` of exactly the
 * size needed.
 */
export class AssignmentTableBuilder {
  #slots = new Int32Array(slotsFor(0));
  #hashes = new Uint32Array(1024);
  #keyStarts = new Uint32Array(1025);
  #lines = new Int32Array(1024);
  #rows = new Uint8Array(1024 * ROW_BYTES);
  #keys = new Uint8Array(32 * 1024);
  #count = 0;
  /** Scratch row: checked here first, copied in once the key proves new. */
  readonly #row = new Uint8Array(ROW_BYTES);

  /** Number of rows added. */
  get size(): number {
    return this.#count;
  }

  /** The row of `key` (hash `hash`), or -1. */
  #find(key: string, hash: number): number {
    return findRow(this.#slots, this.#hashes, this.#keyStarts, this.#keys, key, hash);
  }

  /** Put `row` (hash `hash`) into the first free slot of `slots`. */
  static #place(slots: Int32Array, hash: number, row: number): void {
    const mask = slots.length - 1;
    let i = hash & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = row + 1;
  }

  /**
   * Add a row for the canonical (ASCII) `key` from raw `address` and `prefix` column values
   * (empty = none), checking them (throws `AssignmentFormatError`). Returns `undefined` when
   * added, or the line of the earlier row when `key` is already present (nothing changes).
   */
  add(key: string, line: number, address: string, prefix: string): number | undefined {
    const scratch = this.#row;
    scratch.fill(0);
    let flags = addressInto(address, scratch, 1) ? HAS_ADDRESS : 0;
    const length = prefixInto(prefix, scratch, 17);
    if (length > 0) flags |= HAS_PREFIX;
    const hash = hashKey(key);
    const existing = this.#find(key, hash);
    if (existing >= 0) return this.#lines[existing];
    const row = this.#count;
    if (row === this.#hashes.length) {
      // Every per-row array grows with the row count (key starts keep one more entry).
      this.#hashes = grown(this.#hashes, row + 1);
      this.#keyStarts = grown(this.#keyStarts, row + 2);
      this.#lines = grown(this.#lines, row + 1);
      this.#rows = grown(this.#rows, (row + 1) * ROW_BYTES);
    } else if (row + 2 > this.#keyStarts.length) {
      this.#keyStarts = grown(this.#keyStarts, row + 2);
    }
    const start = this.#keyStarts[row];
    if (start + key.length > this.#keys.length) {
      this.#keys = grown(this.#keys, start + key.length);
    }
    const keys = this.#keys;
    for (let k = 0; k < key.length; k++) {
      const c = key.charCodeAt(k);
      if (c > 0x7f) throw new Error(`canonical key is not ASCII: ${key}`);
      keys[start + k] = c;
    }
    this.#keyStarts[row + 1] = start + key.length;
    this.#hashes[row] = hash;
    this.#lines[row] = line;
    scratch[0] = flags;
    scratch[33] = length;
    this.#rows.set(scratch, row * ROW_BYTES);
    this.#count++;
    if (this.#count * 2 > this.#slots.length) {
      const slots = new Int32Array(slotsFor(this.#count));
      for (let r = 0; r < this.#count; r++) {
        AssignmentTableBuilder.#place(slots, this.#hashes[r], r);
      }
      this.#slots = slots;
    } else {
      AssignmentTableBuilder.#place(this.#slots, hash, row);
    }
    return undefined;
  }

  /**
   * Copy the rows into one `SharedArrayBuffer` and return the read-only table over it;
   * `rowsRead` is how many data rows the file had, usable or not (default: the rows added).
   */
  build(rowsRead?: number): AssignmentTable {
    const rows = this.#count, keyBytes = this.#keyStarts[rows];
    const slots = slotsFor(rows);
    const buffer = new SharedArrayBuffer(bufferBytes(rows, slots, keyBytes));
    new Int32Array(buffer, 0, HEADER_INTS).set([MAGIC, rows, slots, keyBytes, rowsRead ?? rows]);
    const parts = partsOf(buffer, rows, slots, keyBytes);
    parts.hashes.set(this.#hashes.subarray(0, rows));
    parts.keyStarts.set(this.#keyStarts.subarray(0, rows + 1));
    parts.lines.set(this.#lines.subarray(0, rows));
    parts.rows.set(this.#rows.subarray(0, rows * ROW_BYTES));
    parts.keys.set(this.#keys.subarray(0, keyBytes));
    if (this.#slots.length === slots) parts.slots.set(this.#slots);
    else {
      for (let r = 0; r < rows; r++) {
        AssignmentTableBuilder.#place(parts.slots as Int32Array, parts.hashes[r], r);
      }
    }
    return AssignmentTable.fromBuffer(buffer);
  }
}
