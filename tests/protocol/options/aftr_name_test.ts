/** Tests for the aftr_name option module. */

import assert from "node:assert/strict";
import {
  AFTRNameOption,
  DeclineMessage,
  InformationRequestMessage,
  optionToBytes,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import { b, bad, clientId, decode, invalid, reply, serverId, valid, vector } from "./helpers.ts";

// RFC 6334 §3: option 64, the AFTR's FQDN in DNS wire format ("aftr.example.com").
const AFTR = "0040 0012 0461667472076578616d706c6503636f6d00";

Deno.test("aftr-name: parse and serialise", () => {
  const o = vector(AFTR, AFTRNameOption, new AFTRNameOption("aftr.example.com"));
  assert.equal(o.fqdn, "aftr.example.com");
  assert.deepEqual(optionToBytes(new AFTRNameOption("aftr.example.com.")), b(AFTR));
});

Deno.test("aftr-name: malformed input", () => {
  bad("0040 0011 0461667472076578616d706c6503636f6d"); // relative name
  bad("0040 0013 0461667472076578616d706c6503636f6d00 00"); // data after the name
  bad("0040 0000"); // empty
  bad("0040 0013 0461667472076578616d706c6503636f6d00"); // length lies
});

Deno.test("aftr-name: validate", () => {
  const root = decode("0040 0001 00") as AFTRNameOption;
  assert.throws(() => root.validate(), ValidationError);
  assert.throws(() => new AFTRNameOption("a..b").validate(), ValidationError);
});

Deno.test("aftr-name: placement", () => {
  const o = new AFTRNameOption("aftr.example.com");
  valid(reply(o));
  valid(new InformationRequestMessage(1, [clientId(), o]));
  invalid(reply(o, o));
  invalid(new DeclineMessage(1, [serverId(), clientId(), o]));
});
