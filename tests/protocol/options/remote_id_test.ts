/** Tests for the remote_id option module. */

import assert from "node:assert/strict";
import { RemoteIdOption, SolicitMessage, ValidationError } from "../../../src/protocol/mod.ts";
import {
  b,
  bad,
  clientId,
  decode,
  invalid,
  relayedReply,
  relayedSolicit,
  relayForward,
  relayReply,
  valid,
  vector,
} from "./helpers.ts";

// RFC 4649 §3: option 37, enterprise-number(4) then the opaque remote-id.
const REMOTE_ID = "0025 000a 00000009 020300010a0b";

Deno.test("remote-id: parse and serialise", () => {
  const o = vector(REMOTE_ID, RemoteIdOption, new RemoteIdOption(9, b("020300010a0b")));
  assert.equal(o.enterpriseNumber, 9);
  assert.deepEqual(o.remoteId, b("020300010a0b"));
  const empty = decode("0025 0004 00000009") as RemoteIdOption;
  assert.equal(empty.remoteId.length, 0);
});

Deno.test("remote-id: malformed input", () => {
  bad("0025 0003 000000");
  bad("0025 0000");
  bad("0025 000b 00000009 020300010a0b");
});

Deno.test("remote-id: validate", () => {
  assert.throws(() => new RemoteIdOption(2 ** 32).validate(), ValidationError);
  assert.throws(() => new RemoteIdOption(-1).validate(), ValidationError);
});

Deno.test("remote-id: placement", () => {
  const o = new RemoteIdOption(9, b("0102"));
  valid(relayForward(o, relayedSolicit()));
  valid(relayReply(o, relayedReply()));
  invalid(new SolicitMessage(1, [clientId(), o]));
});
