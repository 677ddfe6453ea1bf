/**
 * The timezone options of RFC 4833: POSIX Timezone (41) and TZ Database Timezone (42).
 *
 * Both carry text that RFC 4833 restricts to printable ASCII without NUL. The bytes are kept one
 * character per byte, so any input round-trips; {@link PosixTimezoneOption.validate} also checks
 * the POSIX TZ grammar.
 * @module
 */

import { SerializeError, ValidationError } from "../errors.ts";
import type { Writer } from "../bytes.ts";
import { allowInMessage } from "../occurrence.ts";
import { Option, registerOption } from "../option.ts";
import { CONFIGURATION_MESSAGES } from "./base.ts";

function readLatin1(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]);
  return s;
}

function writeLatin1(w: Writer, text: string, what: string): void {
  w.ensure(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new SerializeError(`${what} contains a non-ASCII character`);
    w.u8(c);
  }
}

function checkPrintable(text: string, what: string): void {
  if (typeof text !== "string" || text === "") throw new ValidationError(`${what} is empty`);
  if (!/^[\x20-\x7e]*$/.test(text)) {
    throw new ValidationError(`${what} ${JSON.stringify(text)} contains non-printable characters`);
  }
}

/**
 * Why `tz` is not a POSIX TZ string (IEEE Std 1003.1 §8.3, `std offset [dst [offset] [,rule]]`),
 * or undefined when it is. Rule times may use the RFC 8536 extended hour range (-167..167).
 */
export function posixTimezoneError(tz: string): string | undefined {
  let pos = 0;
  const name = (): boolean => {
    if (tz[pos] === "<") {
      const close = tz.indexOf(">", pos);
      if (close < 0) return false;
      const inner = tz.slice(pos + 1, close);
      if (inner.length < 3 || !/^[A-Za-z0-9+-]+$/.test(inner)) return false;
      pos = close + 1;
      return true;
    }
    const m = /^[A-Za-z]{3,}/.exec(tz.slice(pos));
    if (!m) return false;
    pos += m[0].length;
    return true;
  };
  // [+-]hh[:mm[:ss]] with hh <= maxHours.
  const time = (maxHours: number): boolean => {
    const m = /^[+-]?(\d{1,3})(?::(\d{1,2})(?::(\d{1,2}))?)?/.exec(tz.slice(pos));
    if (!m) return false;
    if (Number(m[1]) > maxHours || Number(m[2] ?? 0) > 59 || Number(m[3] ?? 0) > 59) return false;
    pos += m[0].length;
    return true;
  };
  const date = (): boolean => {
    const rest = tz.slice(pos);
    let m = /^J(\d{1,3})/.exec(rest);
    if (m) {
      const n = Number(m[1]);
      if (n < 1 || n > 365) return false;
    } else if ((m = /^M(\d{1,2})\.(\d)\.(\d)/.exec(rest))) {
      const [month, week, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
      if (month < 1 || month > 12 || week < 1 || week > 5 || day > 6) return false;
    } else if ((m = /^(\d{1,3})/.exec(rest))) {
      if (Number(m[1]) > 365) return false;
    } else {
      return false;
    }
    pos += m[0].length;
    if (tz[pos] === "/") {
      pos++;
      return time(167);
    }
    return true;
  };

  if (tz.startsWith(":")) return "implementation-defined ':' form is not allowed";
  if (!name()) return "standard time zone name must be 3 or more letters or <quoted>";
  if (!time(24)) return "standard time offset missing or out of range";
  if (pos === tz.length) return undefined;
  if (!name()) return "daylight saving time zone name must be 3 or more letters or <quoted>";
  if (pos < tz.length && tz[pos] !== ",") {
    if (!time(24)) return "daylight saving time offset out of range";
  }
  if (pos === tz.length) return undefined;
  if (tz[pos] !== ",") return `unexpected ${JSON.stringify(tz.slice(pos))}`;
  pos++;
  if (!date()) return "rule start date is not Jn, n or Mm.w.d";
  if (tz[pos] !== ",") return "rule needs a start and an end date";
  pos++;
  if (!date()) return "rule end date is not Jn, n or Mm.w.d";
  if (pos !== tz.length) return `unexpected ${JSON.stringify(tz.slice(pos))}`;
  return undefined;
}

/** POSIX Timezone (41): a POSIX TZ string such as `EST5EDT4,M3.2.0/02:00,M11.1.0/02:00`. */
export class PosixTimezoneOption extends Option {
  /** Option code. */
  static readonly code = 41;
  /** Option name. */
  static readonly optionName = "posix-timezone";

  /** Create the option with a POSIX TZ string. */
  constructor(public timezone = "") {
    super();
  }

  /** Parse the option data (the text, one character per byte). */
  static parse(buf: Uint8Array, start: number, end: number): PosixTimezoneOption {
    return new PosixTimezoneOption(readLatin1(buf, start, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeLatin1(w, this.timezone, "posix-timezone");
  }

  /** Printable ASCII without NUL, matching the POSIX TZ grammar (RFC 4833 §3). */
  override validate(): void {
    checkPrintable(this.timezone, "posix-timezone");
    const error = posixTimezoneError(this.timezone);
    if (error) {
      throw new ValidationError(`posix-timezone ${JSON.stringify(this.timezone)}: ${error}`);
    }
  }
}

/** TZ Database Timezone (42): a tz database zone name such as `Europe/Zurich`. */
export class TZDBTimezoneOption extends Option {
  /** Option code. */
  static readonly code = 42;
  /** Option name. */
  static readonly optionName = "tzdb-timezone";

  /** Create the option with a tz database zone name. */
  constructor(public timezone = "") {
    super();
  }

  /** Parse the option data (the text, one character per byte). */
  static parse(buf: Uint8Array, start: number, end: number): TZDBTimezoneOption {
    return new TZDBTimezoneOption(readLatin1(buf, start, end));
  }

  /** Write the option data. */
  writeData(w: Writer): void {
    writeLatin1(w, this.timezone, "tzdb-timezone");
  }

  /** Printable ASCII without NUL or spaces (RFC 4833 §3). */
  override validate(): void {
    checkPrintable(this.timezone, "tzdb-timezone");
    if (this.timezone.includes(" ")) {
      throw new ValidationError(`tzdb-timezone ${JSON.stringify(this.timezone)} contains a space`);
    }
  }
}

registerOption(PosixTimezoneOption);
registerOption(TZDBTimezoneOption);

// RFC 4833 §3: at most one of each, in messages that carry configuration.
for (const code of [41, 42]) allowInMessage(CONFIGURATION_MESSAGES, code, 0, 1);
