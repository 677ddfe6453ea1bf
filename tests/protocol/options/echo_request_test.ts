/** Tests for the echo_request option module. */

import assert from "node:assert/strict";
import {
  EchoRequestOption,
  InterfaceIdOption,
  RemoteIdOption,
  SolicitMessage,
  ValidationError,
} from "../../../src/protocol/mod.ts";
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

// RFC 4994 §4: option 43, a list of requested option codes (here Interface-ID 18, Remote-ID 37).
const ERO = "002b 0004 0012 0025";

Deno.test("echo-request: parse and serialise", () => {
  const o = vector(ERO, EchoRequestOption, new EchoRequestOption([18, 37]));
  assert.deepEqual(o.requestedOptions, [18, 37]);
});

Deno.test("echo-request: malformed input", () => {
  bad("002b 0003 001200");
  bad("002b 0006 0012 0025");
});

Deno.test("echo-request: validate", () => {
  assert.throws(() => new EchoRequestOption([70000]).validate(), ValidationError);
});

Deno.test("echo-request: allowed in relay-forward (RFC 4994 example with echoed options)", () => {
  // RFC 4994 §5: the relay asks for Interface-ID and Remote-ID to come back.
  valid(
    relayForward(
      new EchoRequestOption([18, 37]),
      new InterfaceIdOption(b("657468302e3130")),
      new RemoteIdOption(9, b("0102")),
      relayedSolicit(),
    ),
  );
  invalid(relayReply(new EchoRequestOption([18]), relayedReply()));
  invalid(new SolicitMessage(1, [clientId(), new EchoRequestOption([23])]));
});
