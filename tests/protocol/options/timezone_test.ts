/** Tests for the timezone option module. */

import assert from "node:assert/strict";
import {
  posixTimezoneError,
  PosixTimezoneOption,
  ReleaseMessage,
  TZDBTimezoneOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import { bad, clientId, decode, invalid, reply, serverId, valid, vector } from "./helpers.ts";

// RFC 4833 §3: option 41 carries a POSIX TZ string; this is the RFC's own example.
const POSIX = "0029 0023 " +
  Array.from(
    new TextEncoder().encode("EST5EDT4,M3.2.0/02:00,M11.1.0/02:00"),
    (c) => c.toString(16).padStart(2, "0"),
  ).join("");
// RFC 4833 §3: option 42 carries a TZ database name; "Europe/Zurich" is the RFC's example.
const TZDB = "002a 000d 4575726f70652f5a7572696368";

Deno.test("posix-timezone: parse and serialise the RFC 4833 example", () => {
  const o = vector(
    POSIX,
    PosixTimezoneOption,
    new PosixTimezoneOption("EST5EDT4,M3.2.0/02:00,M11.1.0/02:00"),
  );
  assert.equal(o.timezone, "EST5EDT4,M3.2.0/02:00,M11.1.0/02:00");
});

Deno.test("tzdb-timezone: parse and serialise the RFC 4833 example", () => {
  const o = vector(TZDB, TZDBTimezoneOption, new TZDBTimezoneOption("Europe/Zurich"));
  assert.equal(o.timezone, "Europe/Zurich");
});

Deno.test("timezones: any bytes round-trip; bad text is a validation error", () => {
  const nul = decode("0029 0004 45535400") as PosixTimezoneOption;
  assert.throws(() => nul.validate(), ValidationError);
  const high = decode("002a 0003 41ff42") as TZDBTimezoneOption;
  assert.throws(() => high.validate(), ValidationError);
  assert.throws(() => (decode("002a 0000") as TZDBTimezoneOption).validate(), ValidationError);
  assert.throws(() => new TZDBTimezoneOption("Europe/ Zurich").validate(), ValidationError);
  bad("0029 0005 45535435");
  bad("002a 0001");
});

Deno.test("posix-timezone: grammar", () => {
  for (
    const ok of [
      "UTC0",
      "CET-1CEST,M3.5.0,M10.5.0/3",
      "EST5EDT",
      "<+0330>-3:30",
      "NZST-12NZDT,M9.5.0,M4.1.0/3",
      "AEST-10AEDT-11,J60/2,300/2:00:00",
      "WART4WARST,J1/0,J365/25",
      "EST+5EDT,M3.2.0/-1,M11.1.0/167",
    ]
  ) {
    assert.equal(posixTimezoneError(ok), undefined, ok);
    new PosixTimezoneOption(ok).validate();
  }
  for (
    const no of [
      ":Europe/Zurich",
      "Europe/Zurich",
      "EST",
      "ES5",
      "EST25",
      "EST5EDT,M13.1.0,M11.1.0",
      "EST5EDT,M3.6.0,M11.1.0",
      "EST5EDT,M3.2.7,M11.1.0",
      "EST5EDT,J0,J365",
      "EST5EDT,M3.2.0",
      "EST5EDT,366,1",
      "EST5:60",
      "EST5EDT,M3.2.0/168,M11.1.0",
      "EST5 EDT",
      "<AB>5",
    ]
  ) {
    assert.notEqual(posixTimezoneError(no), undefined, no);
    assert.throws(() => new PosixTimezoneOption(no).validate(), ValidationError, no);
  }
});

Deno.test("timezones: placement", () => {
  const p = new PosixTimezoneOption("CET-1CEST,M3.5.0,M10.5.0/3");
  const t = new TZDBTimezoneOption("Europe/Zurich");
  valid(reply(p, t));
  invalid(reply(t, t));
  invalid(new ReleaseMessage(1, [serverId(), clientId(), p]));
});
