/**
 * The fuzzer inside `deno test` (20,000 cases), plus hostile inputs that must be rejected with a
 * ParseError quickly: lying length fields and relay messages / containers nested thousands deep.
 * @module
 */

import assert from "node:assert/strict";
import {
  fromHex,
  IAAddressOption,
  IANAOption,
  ParseError,
  parseMessage,
  type RelayForwardMessage,
  RelayMessageOption,
  type RelayReplyMessage,
  serializeMessage,
  toHex,
} from "../../src/protocol/mod.ts";
import { checkCase, formatReport, lengthFieldOffsets, Prng, runFuzz } from "./fuzz.ts";
import { PipelineTarget } from "./pipeline.ts";
import { loadCorpus } from "../protocol/corpus.ts";

/** Parse `bytes`, expecting a ParseError within `limitMs`; returns the error. */
function expectQuickParseError(bytes: Uint8Array, limitMs = 50): ParseError {
  const t0 = performance.now();
  let error: unknown;
  try {
    parseMessage(bytes);
  } catch (e) {
    error = e;
  }
  const took = performance.now() - t0;
  assert.ok(error instanceof ParseError, `expected ParseError, got ${error}`);
  assert.ok(!error.reason.startsWith("internal parser error"), error.message);
  assert.ok(took < limitMs, `took ${took.toFixed(1)} ms`);
  return error;
}

function u16(n: number): number[] {
  return [n >>> 8, n & 0xff];
}

/** Nest `levels` relay-forward messages around a minimal Solicit. */
function nestedRelays(levels: number): Uint8Array {
  let inner = Uint8Array.of(1, 0, 0, 1);
  for (let i = 0; i < levels; i++) {
    const out = new Uint8Array(34 + 4 + inner.length);
    out[0] = 12;
    out[1] = Math.min(i, 255);
    out.set([0, 9, ...u16(inner.length & 0xffff)], 34);
    out.set(inner, 38);
    inner = out;
  }
  return inner;
}

/** A Solicit whose single option is `code` nested `levels` deep with `prefix` data before each. */
function nestedContainers(code: number, prefix: number, levels: number): Uint8Array {
  let inner = new Uint8Array(0);
  for (let i = 0; i < levels; i++) {
    const out = new Uint8Array(4 + prefix + inner.length);
    out.set([...u16(code), ...u16(Math.min(prefix + inner.length, 0xffff))]);
    out.set(inner, 4 + prefix);
    inner = out;
  }
  const message = new Uint8Array(4 + inner.length);
  message.set([1, 0x12, 0x34, 0x56]);
  message.set(inner, 4);
  return message;
}

Deno.test("fuzz: 20,000 cases, no failures", () => {
  const report = runFuzz({ count: 20_000, seed: 7 });
  const lines = formatReport(report);
  for (const f of report.failures) console.error(`${f.problem}\n  input: ${f.hex}`);
  assert.equal(report.failureCount, 0, lines.join("\n"));
  assert.equal(report.cases, 20_000);
  assert.ok(report.parsed > 1000 && report.rejected > 1000, lines.join("\n"));
});

Deno.test("fuzz: the whole request path answers relayed corpus requests from the CSV", async () => {
  const corpus = loadCorpus().map((c) => c.bytes);
  const target = await PipelineTarget.create(corpus);
  try {
    const relayed = PipelineTarget.relayedSeeds(corpus);
    assert.ok(relayed.length >= 8, `${relayed.length} relayed seeds`);
    // The relayed Solicit with IA_NA and IA_PD, as a relay on the customer link sends it.
    const solicit = relayed.find((b) => {
      const m = parseMessage(b) as RelayForwardMessage;
      return m.getOption(RelayMessageOption)!.message.type === 1;
    })!;
    const result = await target.engine.handle({
      data: solicit,
      source: "2001:db8:100::1",
      sourcePort: 547,
      interfaceName: "eth0",
      linkAddress: "2001:db8:ffff::547",
      receivedOverMulticast: false,
      receivedOverTcp: false,
      marks: ["relayed"],
    });
    assert.equal(result.outcome, "reply");
    const reply = (parseMessage(result.replies[0].data) as RelayReplyMessage)
      .getOption(RelayMessageOption)!.message;
    const ia = reply.options.find((o) => o instanceof IANAOption) as IANAOption;
    const address = ia.options.find((o) => o instanceof IAAddressOption) as IAAddressOption;
    assert.match(address.address, /^2001:db8:100::[0-9a-f]+$/, "assigned from the CSV");
    // And the target itself reports nothing wrong for every seed.
    const rng = new Prng(3);
    for (const seed of [...corpus, ...relayed]) assert.equal(target.check(seed, rng), undefined);
  } finally {
    await target.close();
  }
});

Deno.test("fuzz: 5,000 cases down the whole request path, no failures", async () => {
  const corpus = loadCorpus().map((c) => c.bytes);
  const target = await PipelineTarget.create(corpus);
  try {
    const seeds = [...corpus, ...PipelineTarget.relayedSeeds(corpus)];
    const report = runFuzz({ count: 5_000, seed: 11, seeds, pipeline: target });
    for (const f of report.failures) console.error(`${f.problem}\n  input: ${f.hex}`);
    assert.equal(report.failureCount, 0, formatReport(report).join("\n"));
    assert.ok(report.pipeline!.answered > 50, formatReport(report).join("\n"));
  } finally {
    await target.close();
  }
});

Deno.test("fuzz: the corpus seeds parse, and the mutator finds their length fields", () => {
  for (const { name, bytes } of loadCorpus()) {
    const r = checkCase(bytes);
    assert.ok(r === "parsed" || r === "invalid", `${name}: ${r}`);
    const offsets = lengthFieldOffsets(bytes);
    assert.ok(offsets.length > 0, name);
    for (const at of offsets) assert.ok(at + 2 <= bytes.length, name);
  }
});

Deno.test("hostile: a 65535 length on a 60-byte message is a ParseError", () => {
  // Solicit with client-id claiming 65535 bytes, padded to 60 bytes.
  const bytes = new Uint8Array(60);
  bytes.set([1, 0xaa, 0xbb, 0xcc, 0x00, 0x01, 0xff, 0xff, 0x00, 0x03, 0x00, 0x01]);
  const e = expectQuickParseError(bytes);
  assert.equal(e.offset, 6);
  // The same lie inside an IA_NA inside a relay message.
  const relay = fromHex(
    "0c00" + "20010db8000000000000000000000001" + "fe800000000000000000000000000001" +
      "0009001a" + "01000001" + "00030012" + "0000000100000000" + "00000000" + "0005ffff" + "00",
  );
  expectQuickParseError(relay);
  // Every length field of every corpus message set to 65535 is rejected.
  for (const { name, bytes } of loadCorpus()) {
    for (const at of lengthFieldOffsets(bytes)) {
      const lie = bytes.slice();
      lie[at] = 0xff, lie[at + 1] = 0xff;
      const err = expectQuickParseError(lie);
      assert.ok(err.offset <= lie.length, `${name}@${at}`);
    }
  }
});

Deno.test("hostile: relay messages nested 1,700 deep are a ParseError, not a RangeError", () => {
  const bytes = nestedRelays(1700);
  assert.ok(bytes.length < 70_000);
  const e = expectQuickParseError(bytes);
  assert.match(e.reason, /nested|deep/);
  // Shallow nesting still parses, also right after the rejection (no leaked depth state).
  const ok = nestedRelays(8);
  assert.equal(toHex(serializeMessage(parseMessage(ok))), toHex(ok));
});

Deno.test("hostile: containers nested thousands deep are a ParseError, not a RangeError", () => {
  const cases: [string, number, number, number][] = [
    ["client-data (45)", 45, 0, 16_000],
    ["ia-na (3)", 3, 12, 4_000],
    ["ia-address (5)", 5, 24, 2_000],
    ["s46-map-e (94)", 94, 0, 16_000],
    ["lq-query (44)", 44, 17, 3_000],
    ["ntp-servers (56)", 56, 0, 16_000],
  ];
  for (const [name, code, prefix, levels] of cases) {
    const bytes = nestedContainers(code, prefix, levels);
    let error: unknown;
    try {
      parseMessage(bytes);
    } catch (e) {
      error = e;
    }
    // Deep nesting must be rejected (or, for containers whose children are not parsed as
    // options, accepted), never blow the stack.
    if (error !== undefined) {
      assert.ok(error instanceof ParseError, `${name}: ${error}`);
      assert.ok(!error.reason.startsWith("internal parser error"), `${name}: ${error.message}`);
    }
    expectQuickParseError(nestedContainers(code, prefix, levels).subarray(0, bytes.length - 1));
  }
  const ok = nestedContainers(45, 0, 10);
  assert.equal(toHex(serializeMessage(parseMessage(ok))), toHex(ok));
});

Deno.test("hostile: a 1 MB message of tiny options parses in linear time", () => {
  const n = 250_000;
  const bytes = new Uint8Array(4 + 4 * n);
  bytes.set([1, 0, 0, 1]);
  for (let i = 0; i < n; i++) bytes.set([0x03, 0xe8, 0, 0], 4 + 4 * i); // unknown option 1000
  const t0 = performance.now();
  const m = parseMessage(bytes);
  const took = performance.now() - t0;
  assert.equal(m.options.length, n);
  assert.ok(took < 1000, `took ${took.toFixed(0)} ms`);
  bytes[bytes.length - 1] = 1; // the last option now claims a byte that is not there
  expectQuickParseError(bytes, 1000);
});
