/** Tests for the subscriber_id option module. */

import assert from "node:assert/strict";
import {
  AdvertiseMessage,
  SubscriberIdOption,
  ValidationError,
} from "../../../src/protocol/mod.ts";
import {
  b,
  bad,
  clientId,
  decode,
  invalid,
  relayedSolicit,
  relayForward,
  serverId,
  valid,
  vector,
} from "./helpers.ts";

// RFC 4580 §2: option 38, the subscriber-id as opaque octets ("sub1").
const SUBSCRIBER_ID = "0026 0004 73756231";

Deno.test("subscriber-id: parse and serialise", () => {
  const o = vector(SUBSCRIBER_ID, SubscriberIdOption, new SubscriberIdOption(b("73756231")));
  assert.deepEqual(o.data, b("73756231"));
});

Deno.test("subscriber-id: malformed input", () => {
  bad("0026 0005 73756231");
  bad("0026 00");
});

Deno.test("subscriber-id: validate rejects an empty identifier", () => {
  const empty = decode("0026 0000") as SubscriberIdOption;
  assert.throws(() => empty.validate(), ValidationError);
});

Deno.test("subscriber-id: placement", () => {
  const o = new SubscriberIdOption(b("73756231"));
  valid(relayForward(o, relayedSolicit()));
  invalid(new AdvertiseMessage(1, [serverId(), clientId(), o]));
});
