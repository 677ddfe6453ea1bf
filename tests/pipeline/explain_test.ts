/**
 * Explain in the pipeline (`MessageHandler.explain`): every filter of the tree with what it
 * compared, the handlers by phase with their scope and what they changed, a signal with its
 * reason, lookups that fail, and the dry run: no `analyse-post`, no statistics, no rate-limit
 * token, while the same pipeline's real handling still does all of that.
 */

import assert from "node:assert/strict";
import {
  diffSnapshots,
  Handler,
  StatisticsStore,
  type TransactionBundle,
} from "../../src/pipeline/mod.ts";
import { SolicitMessage } from "../../src/protocol/mod.ts";
import {
  clientId,
  elapsed,
  iana,
  packet,
  pipeline,
  pipelineFromConfig,
  relayed,
} from "./helpers.ts";

const solicit = () => new SolicitMessage(7, [clientId(), elapsed(0), iana(1)]);

const CONFIG = `
<subnet 2001:db8:1::/48>
    <recursive-name-servers>
        address 2001:db8::53
    </recursive-name-servers>
    <marked-with vip>
        <preference>
            level 255
        </preference>
    </marked-with>
</subnet>
<subnet 2001:db8:2::/48>
    <ignore-request/>
</subnet>
<rate-limit>
    key duid
    rate 2
    per 3600
    burst 2
</rate-limit>
`;

Deno.test("explain: filters with what they compared, handlers with scope and changes", async () => {
  const handler = pipelineFromConfig(CONFIG);
  const trace = await handler.explain(packet(solicit()));
  assert.deepEqual(trace.filters.map((f) => [f.depth, f.filter, f.matched, f.reason]), [
    [0, "subnet 2001:db8:1::/48", true, "matched: link address 2001:db8:1::1"],
    [1, "marked-with vip", false, "did not match: marks unmarked"],
    [0, "subnet 2001:db8:2::/48", false, "did not match: link address 2001:db8:1::1"],
  ]);
  assert.equal(trace.outcome, "reply");
  assert.equal(trace.reply?.type, "advertise");
  const dns = trace.handlers.find((h) => h.handler === "RecursiveNameServersOptionHandler")!;
  assert.equal(dns.scope, "subnet 2001:db8:1::/48");
  assert.deepEqual(dns.changes, ['+ option recursive-name-servers {"addresses":["2001:db8::53"]}']);
  assert.equal(trace.handlers.find((h) => h.handler === "PreferenceOptionHandler"), undefined);
  const limit = trace.handlers.find((h) => h.handler === "RateLimitHandler")!;
  assert.equal(limit.scope, "top level");
  assert.match(limit.notes[0], /no token taken/);
  assert.ok(trace.dryRun.includes("nothing counted in the statistics"));
});

Deno.test("explain: an ignored request says which handler and why", async () => {
  const handler = pipelineFromConfig(CONFIG);
  const trace = await handler.explain(packet(relayed(solicit(), "2001:db8:2::1"), {
    source: "2001:db8:ffff::1",
    sourcePort: 547,
    multicast: false,
  }));
  assert.equal(trace.outcome, "do_not_respond");
  const ignore = trace.handlers.find((h) => h.signal)!;
  assert.equal(ignore.handler, "IgnoreRequestHandler");
  assert.equal(ignore.scope, "subnet 2001:db8:2::/48");
  assert.match(trace.reason!, /^ignored: a handler decided not to answer \(CannotRespond: /);
  assert.equal(trace.reply, undefined);
});

Deno.test("explain is a dry run; handling the same request is not", async () => {
  let recorded = 0;
  class Recorder extends Handler {
    override analysePost(_bundle: TransactionBundle): void {
      recorded++;
    }
  }
  const handler = pipelineFromConfig(CONFIG);
  const recorder = new Recorder();
  const withRecorder = pipeline(
    [...handler.options.handlers, recorder],
    handler.options.filters,
  );
  const stats = new StatisticsStore();
  for (let i = 0; i < 3; i++) {
    const trace = await withRecorder.explain(packet(solicit()));
    assert.equal(trace.outcome, "reply", "the rate limit took no token");
    const step = trace.handlers.find((h) => h.handler === "Recorder")!;
    assert.equal(step.phase, "analyse-post");
    assert.match(step.skipped!, /dry run/);
  }
  assert.equal(recorded, 0);
  // The real thing: recorded, counted, and the bucket (burst 2) empties.
  for (let i = 1; i <= 2; i++) {
    assert.equal((await withRecorder.handle(packet(solicit()), stats)).outcome, "reply");
    assert.equal(recorded, i);
    assert.equal(stats.sets.get("global")![0], i);
  }
  const third = await withRecorder.handle(packet(solicit()), stats);
  assert.equal(third.outcome, "do_not_respond");
});

Deno.test("explain: a failing lookup drops the request, an unparsable message is explained", async () => {
  class Failing extends Handler {
    override lookup(): Promise<void> {
      return Promise.reject(new Error("database is down"));
    }
  }
  const trace = await pipeline([new Failing()]).explain(packet(solicit()));
  assert.equal(trace.outcome, "lookup_failure");
  assert.match(trace.reason!, /database is down/);
  assert.equal(trace.handlers[0].phase, "lookup");
  const bad = await pipeline().explain(packet(new Uint8Array([1, 2])));
  assert.equal(bad.outcome, "unparsable");
  assert.match(bad.reason!, /unparsable/);
});

Deno.test("diffSnapshots lists removals then additions, counting repeats", () => {
  assert.deepEqual(diffSnapshots(["a", "b", "b"], ["b", "c", "c"]), ["- a", "- b", "+ c", "+ c"]);
  assert.deepEqual(diffSnapshots(["x"], ["x"]), []);
});
