/** Tests for the sntp option module. */

import assert from "node:assert/strict";
import { ReleaseMessage, SNTPServersOption, ValidationError } from "../../../src/protocol/mod.ts";
import { bad, clientId, invalid, reply, serverId, valid, vector } from "./helpers.ts";

// RFC 4075 §4: option 31, option-len 16*N, SNTP server addresses.
const SNTP = "001f 0020 20010db8000000000000000000000123 20010db8000100000000000000000123";

Deno.test("sntp-servers: parse and serialise", () => {
  const o = vector(
    SNTP,
    SNTPServersOption,
    new SNTPServersOption(["2001:db8::123", "2001:db8:1::123"]),
  );
  assert.deepEqual(o.addresses, ["2001:db8::123", "2001:db8:1::123"]);
});

Deno.test("sntp-servers: malformed input", () => {
  bad("001f 0001 00");
  bad("001f 0018 20010db8000000000000000000000123 0000000000000000");
  bad("001f 0030 20010db8000000000000000000000123");
});

Deno.test("sntp-servers: validate", () => {
  assert.throws(() => new SNTPServersOption(["ff05::101"]).validate(), ValidationError);
  new SNTPServersOption([]).validate();
});

Deno.test("sntp-servers: placement", () => {
  const o = new SNTPServersOption(["2001:db8::123"]);
  valid(reply(o));
  invalid(new ReleaseMessage(1, [serverId(), clientId(), o]));
});
