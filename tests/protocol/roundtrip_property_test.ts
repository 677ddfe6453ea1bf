/**
 * Round-trip properties of the codec: generated messages survive serialise + parse unchanged, and
 * every corpus message re-serialises to its exact bytes.
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  describeMessage,
  describeOption,
  type Duid,
  duidFromBytes,
  fromHex,
  type Message,
  type Option,
  optionToBytes,
  parseMessage,
  parseOptions,
  serializeMessage,
  serializeMessageInto,
  toHex,
  Writer,
} from "../../src/protocol/mod.ts";
import { codecArbitraries, duid, unknownOption } from "./arbitraries.ts";
import { loadCorpus } from "./corpus.ts";

const arbs = codecArbitraries();
const RUNS = Number(Deno.env.get("PROPERTY_RUNS") ?? 1000);

function roundTrip(m: Message): void {
  const bytes = serializeMessage(m);
  const parsed = parseMessage(bytes);
  assert.deepStrictEqual(parsed, m, `round trip of ${toHex(bytes)}`);
  // Addresses held as bytes or text are accessors, which deepStrictEqual does not read.
  assert.deepStrictEqual(describeMessage(parsed), describeMessage(m));
  assert.deepStrictEqual(serializeMessage(parsed), bytes);
}

Deno.test("property: client/server messages (1-11, 14-17) round-trip", () => {
  fc.assert(fc.property(arbs.clientServer, roundTrip), { numRuns: RUNS });
});

Deno.test("property: relay messages nested 1-3 levels round-trip", () => {
  fc.assert(fc.property(arbs.relay, roundTrip), { numRuns: RUNS });
});

Deno.test("property: unknown message types round-trip as raw bytes", () => {
  fc.assert(fc.property(arbs.unknownMessage, roundTrip), { numRuns: RUNS / 4 });
});

Deno.test("property: any message round-trips", () => {
  fc.assert(fc.property(arbs.anyMessage, roundTrip), { numRuns: RUNS });
});

Deno.test("property: serializeMessageInto appends the same bytes as serializeMessage", () => {
  const writer = new Writer(16); // small: views must survive the writer growing
  fc.assert(
    fc.property(fc.array(arbs.anyMessage, { minLength: 1, maxLength: 4 }), (messages) => {
      writer.reset();
      const views = messages.map((m) => serializeMessageInto(m, writer));
      views.forEach((view, i) => assert.equal(toHex(view), toHex(serializeMessage(messages[i]))));
      assert.equal(writer.pos, views.reduce((n, v) => n + v.length, 0));
    }),
    { numRuns: Math.min(RUNS, 300) },
  );
});

Deno.test("property: every option round-trips on its own", () => {
  fc.assert(
    fc.property(arbs.option, (o: Option) => {
      const bytes = optionToBytes(o);
      const parsed = parseOptions(bytes, 0, bytes.length);
      assert.deepStrictEqual(parsed, [o], toHex(bytes));
      assert.deepStrictEqual(parsed.map(describeOption), [describeOption(o)], toHex(bytes));
    }),
    { numRuns: RUNS * 2 },
  );
});

Deno.test("property: unknown options are kept raw", () => {
  fc.assert(
    fc.property(unknownOption, (o: Option) => {
      const bytes = optionToBytes(o);
      assert.deepStrictEqual(parseOptions(bytes, 0, bytes.length), [o]);
    }),
    { numRuns: RUNS / 4 },
  );
});

Deno.test("property: DUIDs (LLT, EN, LL, UUID, unknown) round-trip", () => {
  fc.assert(
    fc.property(duid, (d: Duid) => {
      const bytes = d.toBytes();
      assert.deepStrictEqual(duidFromBytes(bytes), d, toHex(bytes));
    }),
    { numRuns: RUNS },
  );
});

Deno.test("regression: a status message starting with U+FEFF keeps it", () => {
  // 000d 0007 0000 efbbbf 6869: status-code 0, message "\uFEFFhi" (EF BB BF is a legal U+FEFF).
  const bytes = fromHex("000d00070000efbbbf6869");
  const [option] = parseOptions(bytes, 0, bytes.length);
  assert.equal(toHex(optionToBytes(option)), toHex(bytes));
});

Deno.test("corpus: every message re-serialises to its exact bytes", async (t) => {
  const corpus = loadCorpus();
  assert.ok(corpus.length >= 15, `corpus has only ${corpus.length} messages`);
  for (const { name, bytes } of corpus) {
    await t.step(name, () => {
      assert.equal(toHex(serializeMessage(parseMessage(bytes))), toHex(bytes));
    });
  }
});
