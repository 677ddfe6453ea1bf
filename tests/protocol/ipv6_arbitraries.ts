/**
 * fast-check arbitraries for IPv6 address text: every valid spelling of an address (any case,
 * leading zeros, any `::` compression, an embedded IPv4 tail) and near misses made from them.
 * @module
 */

import fc from "fast-check";

/** 16 address bytes, biased towards zero runs, IPv4-mapped and IPv4-compatible addresses. */
export const addressBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 16, maxLength: 16 }),
  // Zero groups at random places: runs of every length and ties between runs.
  fc.tuple(
    fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 }),
    fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  ).map(([groups, keep]) => groupsToBytes(groups.map((g, i) => (keep[i] ? g : 0)))),
  // ::ffff:a.b.c.d and ::a.b.c.d (and their near relatives ::fffe:..., 0:1::...).
  fc.tuple(
    fc.constantFrom(0, 0xffff, 0xfffe, 1),
    fc.uint8Array({ minLength: 4, maxLength: 4 }),
  ).map(([g5, v4]) => {
    const b = new Uint8Array(16);
    b[10] = g5 >> 8;
    b[11] = g5 & 0xff;
    b.set(v4, 12);
    return b;
  }),
);

/** The 16 bytes of 8 groups. */
export function groupsToBytes(groups: readonly number[]): Uint8Array {
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return b;
}

/** How to spell an address: see {@link spell}. */
interface Spelling {
  /** Write the last 32 bits as a dotted quad. */
  v4: boolean;
  /** Start of the zero run written as `::` (-1: none); the run is as long as the zeros there. */
  gapStart: number;
  /** How many of the zero groups from `gapStart` the `::` stands for (at least 1). */
  gapLength: number;
  /** Per group: upper case hex digits. */
  upper: boolean[];
  /** Per group: pad with leading zeros to this many digits (at most 4). */
  width: number[];
}

const spellingArb: fc.Arbitrary<Spelling> = fc.record({
  v4: fc.boolean(),
  gapStart: fc.integer({ min: -1, max: 7 }),
  gapLength: fc.integer({ min: 1, max: 8 }),
  upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  width: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 8, maxLength: 8 }),
});

/** One valid RFC 4291 text form of `bytes`, as chosen by `s` (choices that do not fit are dropped). */
export function spell(bytes: Uint8Array, s: Spelling): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i] << 8) | bytes[2 * i + 1]);
  const hexGroups = s.v4 ? 6 : 8;
  let gapStart = -1, gapEnd = -1;
  if (s.gapStart >= 0 && s.gapStart < hexGroups && groups[s.gapStart] === 0) {
    gapStart = s.gapStart;
    gapEnd = gapStart;
    while (gapEnd < hexGroups && groups[gapEnd] === 0 && gapEnd - gapStart < s.gapLength) gapEnd++;
  }
  const hex = (i: number) => {
    const t = groups[i].toString(16).padStart(s.width[i], "0");
    return s.upper[i] ? t.toUpperCase() : t;
  };
  const tail = s.v4 ? [`${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`] : [];
  const all = [...Array.from({ length: hexGroups }, (_, i) => hex(i)), ...tail];
  if (gapStart < 0) return all.join(":");
  const left = all.slice(0, gapStart).join(":");
  const right = all.slice(gapEnd).join(":");
  return `${left}::${right}`;
}

/** Valid text of an address together with its bytes. */
export const spelledAddress: fc.Arbitrary<{ bytes: Uint8Array; text: string }> = fc.tuple(
  addressBytes,
  spellingArb,
).map(([bytes, s]) => ({ bytes, text: spell(bytes, s) }));

/** Characters a near miss inserts: the address alphabet, a few neighbours, space and `%`. */
const NOISE = ":.0123456789abcdefABCDEFgG%/ -x";

/**
 * Text that is often almost an address: a valid spelling with one to three characters inserted,
 * deleted or replaced. Some results are still valid (`1::2` with a digit added, say).
 */
export const nearMiss: fc.Arbitrary<string> = fc.tuple(
  spelledAddress,
  fc.array(
    fc.tuple(
      fc.constantFrom("insert", "delete", "replace"),
      fc.nat(),
      fc.constantFrom(...NOISE),
    ),
    { minLength: 1, maxLength: 3 },
  ),
).map(([{ text }, edits]) => {
  let t = text;
  for (const [op, at, c] of edits) {
    const i = at % (t.length + 1);
    if (op === "insert") t = t.slice(0, i) + c + t.slice(i);
    else if (op === "delete") t = t.slice(0, i) + t.slice(i + 1);
    else t = t.slice(0, i) + c + t.slice(i + 1);
  }
  return t;
});

/** Valid spellings, near misses and a few hand-picked troublemakers. */
export const addressText: fc.Arbitrary<string> = fc.oneof(
  spelledAddress.map((a) => a.text),
  nearMiss,
  fc.constantFrom(
    "::1.2.3.4",
    "::ffff:1.2.3.4",
    "1:2:3:4:5:6:7:8::",
    "::1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7::",
    "::01.2.3.4",
    "1:2:3:4:5:6::1.2.3.4",
    ":::",
    "",
  ),
);
