/** Tests for the linklayer option module. */

import assert from "node:assert/strict";
import { LinkLayerIdOption, SolicitMessage, ValidationError } from "../../../src/protocol/mod.ts";
import {
  b,
  bad,
  clientId,
  invalid,
  relayedReply,
  relayedSolicit,
  relayForward,
  relayReply,
  valid,
  vector,
} from "./helpers.ts";

// RFC 6939 §4: option 79, link-layer type (1 = Ethernet) then the address.
const LINK_LAYER = "004f 0008 0001 00163e112233";

Deno.test("link-layer-id: parse and serialise", () => {
  const o = vector(LINK_LAYER, LinkLayerIdOption, new LinkLayerIdOption(1, b("00163e112233")));
  assert.equal(o.linkLayerType, 1);
  assert.deepEqual(o.linkLayerAddress, b("00163e112233"));
});

Deno.test("link-layer-id: malformed input", () => {
  bad("004f 0001 00");
  bad("004f 0009 0001 00163e112233");
});

Deno.test("link-layer-id: validate", () => {
  assert.throws(() => new LinkLayerIdOption(0x10000).validate(), ValidationError);
});

Deno.test("link-layer-id: placement (relay messages, at most once)", () => {
  const o = new LinkLayerIdOption(1, b("00163e112233"));
  valid(relayForward(o, relayedSolicit()));
  valid(relayReply(o, relayedReply()));
  invalid(relayForward(o, o, relayedSolicit()));
  invalid(new SolicitMessage(1, [clientId(), o]));
});
