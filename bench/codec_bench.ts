/**
 * Codec benchmarks (`deno bench bench/codec_bench.ts`): parse, serialise and round trip
 * (parse + serialise) of a relayed Solicit and of the relayed Reply to it.
 * @module
 */

import { parseMessage, serializeMessage } from "../src/protocol/mod.ts";
import { relayedReply, relayedSolicit } from "../tests/protocol/samples.ts";

const solicitBytes = serializeMessage(relayedSolicit());
const replyBytes = serializeMessage(relayedReply());
const solicit = parseMessage(solicitBytes);
const reply = parseMessage(replyBytes);

Deno.bench("parse relayed solicit", { group: "solicit" }, () => {
  parseMessage(solicitBytes);
});
Deno.bench("serialize relayed solicit", { group: "solicit" }, () => {
  serializeMessage(solicit);
});
Deno.bench("round trip relayed solicit", { group: "solicit", baseline: true }, () => {
  serializeMessage(parseMessage(solicitBytes));
});

Deno.bench("parse relayed reply", { group: "reply" }, () => {
  parseMessage(replyBytes);
});
Deno.bench("serialize relayed reply", { group: "reply" }, () => {
  serializeMessage(reply);
});
Deno.bench("round trip relayed reply", { group: "reply", baseline: true }, () => {
  serializeMessage(parseMessage(replyBytes));
});
