/** Tests for the order in which the pipeline calls its handlers' phases. */

import assert from "node:assert/strict";
import { Filter, Handler, type TransactionBundle } from "../../src/pipeline/mod.ts";
import { InformationRequestMessage } from "../../src/protocol/mod.ts";
import { clientId, elapsed, pipeline, run } from "./helpers.ts";

/** Records the phases it takes part in, under its name. */
class Recorder extends Handler {
  constructor(readonly name: string, readonly log: string[]) {
    super();
  }
  override analysePre(): void {
    this.log.push(`${this.name}.analysePre`);
  }
  override handle(): void {
    this.log.push(`${this.name}.handle`);
  }
  override analysePost(): void {
    this.log.push(`${this.name}.analysePost`);
  }
}

/** Records only its `pre` and `post` phases. */
class PrePost extends Handler {
  constructor(readonly name: string, readonly log: string[]) {
    super();
  }
  override pre(): void {
    this.log.push(`${this.name}.pre`);
  }
  override post(): void {
    this.log.push(`${this.name}.post`);
  }
}

/** A filter matching requests whose marks include `mark`. */
class MarkFilter extends Filter {
  constructor(readonly mark: string, handlers: Handler[]) {
    super();
    this.handlers = handlers;
  }
  match(bundle: TransactionBundle): boolean {
    return bundle.marks.has(this.mark);
  }
  describe(): string {
    return `mark ${this.mark}`;
  }
}

const info = () => new InformationRequestMessage(1, [clientId(), elapsed(0)]);

Deno.test("phases: every phase in handler order, each handler only in those it has", () => {
  const log: string[] = [];
  const handler = pipeline([new Recorder("a", log), new PrePost("b", log), new Recorder("c", log)]);
  for (let i = 0; i < 2; i++) {
    log.length = 0;
    assert.equal(run(handler, info()).result.outcome, "reply");
    assert.deepEqual(log, [
      "a.analysePre",
      "c.analysePre",
      "b.pre",
      "a.handle",
      "c.handle",
      "b.post",
      "a.analysePost",
      "c.analysePost",
    ]);
  }
});

Deno.test("phases: with filters, the handlers are chosen per request", () => {
  const log: string[] = [];
  const handler = pipeline(
    [new PrePost("top", log)],
    [new MarkFilter("special", [new Recorder("filtered", log)])],
  );
  run(handler, info(), { marks: ["special"] });
  assert.deepEqual(log, [
    "filtered.analysePre",
    "top.pre",
    "filtered.handle",
    "top.post",
    "filtered.analysePost",
  ]);
  log.length = 0;
  run(handler, info());
  assert.deepEqual(log, ["top.pre", "top.post"]);
});
