/** Tests for class constants read through instances (option codes, message and DUID types). */

import assert from "node:assert/strict";
import { Option, UnknownOption, type Writer } from "../../src/protocol/mod.ts";
import {
  InformationRequestMessage,
  LinkLayerDuid,
  ReplyMessage,
  UnknownMessage,
} from "../../src/protocol/mod.ts";

class First extends Option {
  static code = 65001;
  writeData(_w: Writer): void {}
}
class Second extends First {
  static override code = 65002;
}
class Third extends Second {}

Deno.test("Option.code: each class in a hierarchy reads its own static code", () => {
  // Make the base class's instance first, then the subclasses': a value cached for one class
  // must not leak into another's.
  assert.equal(new First().code, 65001);
  assert.equal(new Second().code, 65002);
  assert.equal(new Third().code, 65002);
  assert.equal(new First().code, 65001);
  // Cached on each class's own prototype, as a read-only data property.
  for (const [cls, code] of [[First, 65001], [Second, 65002], [Third, 65002]] as const) {
    const d = Object.getOwnPropertyDescriptor(cls.prototype, "code");
    assert.equal(d?.value, code);
    assert.equal(d?.writable, false);
    assert.equal(d?.enumerable, false);
  }
  // The base class keeps its getter; an instance's own properties do not show the code, and
  // writing it fails as it did with the getter alone.
  assert.equal(typeof Object.getOwnPropertyDescriptor(Option.prototype, "code")?.get, "function");
  assert.throws(() => {
    (new Second() as { code: number }).code = 1;
  }, TypeError);
  assert.deepEqual(Object.keys(new Second()), []);
});

Deno.test("Option.code: an override of the getter still answers per instance", () => {
  assert.equal(new UnknownOption(700, new Uint8Array(0)).code, 700);
  assert.equal(new UnknownOption(701, new Uint8Array(0)).code, 701);
  const own = Object.getOwnPropertyDescriptor(UnknownOption.prototype, "code");
  assert.equal(typeof own?.get, "function");
});

Deno.test("Option.code: an object not made by a constructor reads the static through the getter", () => {
  class Fourth extends Option {
    static code = 65004;
    writeData(_w: Writer): void {}
  }
  const bare = Object.create(Fourth.prototype) as Fourth;
  assert.equal(Object.getOwnPropertyDescriptor(Fourth.prototype, "code"), undefined);
  assert.equal(bare.code, 65004);
  assert.equal(new Fourth().code, 65004);
  assert.equal(Object.getOwnPropertyDescriptor(Fourth.prototype, "code")?.value, 65004);
  assert.equal(typeof Object.getOwnPropertyDescriptor(Option.prototype, "code")?.get, "function");
});

Deno.test("Message.type / name and Duid.type come from their classes", () => {
  assert.equal(new InformationRequestMessage(1, []).type, 11);
  assert.equal(new InformationRequestMessage(1, []).name, "information-request");
  assert.equal(new ReplyMessage(1, []).type, 7);
  assert.equal(new ReplyMessage(1, []).name, "reply");
  const unknown = new UnknownMessage(200, new Uint8Array(0));
  assert.equal(unknown.type, 200);
  assert.equal(new UnknownMessage(201, new Uint8Array(0)).type, 201);
  assert.equal(unknown.name, "unknown");
  assert.equal(new LinkLayerDuid(1, new Uint8Array(6)).type, 3);
});
