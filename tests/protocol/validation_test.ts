/** Tests for the message-level validation rules: option occurrence and unique IAIDs. */

import assert from "node:assert/strict";
import {
  allowInMessage,
  checkOccurrence,
  checkUniqueIaids,
  ElapsedTimeOption,
  IANAOption,
  IAPDOption,
  IATAOption,
  type Occurrence,
  Option,
  registerOption,
  SolicitMessage,
  UnknownOption,
  ValidationError,
} from "../../src/protocol/mod.ts";
import { clientId } from "./options/helpers.ts";

Deno.test("occurrence: counts, unregistered codes and options without a rule", () => {
  const rules = new Map<number, Occurrence>([[1, [1, 1]], [3, [0, Infinity]], [8, [0, 1]]]);
  checkOccurrence("test", rules, [clientId(), new IANAOption(1), new IANAOption(2)]);
  checkOccurrence("test", rules, [clientId(), new UnknownOption(65000, new Uint8Array(0))]);
  assert.throws(() => checkOccurrence("test", rules, []), /exactly 1 client-id \(1\)/);
  assert.throws(
    () =>
      checkOccurrence("test", rules, [
        clientId(),
        new ElapsedTimeOption(),
        new ElapsedTimeOption(),
      ]),
    /0 to 1 elapsed-time \(8\) option\(s\), found 2/,
  );
  assert.throws(
    () => checkOccurrence("test", rules, [clientId(), new IAPDOption(1)]),
    /iapd \(25\) may not appear in test/,
  );
  assert.throws(() => checkOccurrence("test", undefined, [clientId()]), ValidationError);
  checkOccurrence("test", undefined, [new UnknownOption(65000, new Uint8Array(0))]);
});

Deno.test("occurrence: a required code that is not registered can never be met", () => {
  const rules = new Map<number, Occurrence>([[65001, [1, 1]]]);
  assert.throws(
    () => checkOccurrence("test", rules, [new UnknownOption(65001, new Uint8Array(0))]),
    /exactly 1 65001 \(65001\) option\(s\), found 0/,
  );
});

Deno.test("occurrence: rules changed or options registered later are seen", () => {
  class LateOption extends Option {
    static readonly code = 65002;
    static readonly optionName = "late";
    static parse(): LateOption {
      return new LateOption();
    }
    writeData(): void {}
  }
  const solicit = () => new SolicitMessage(1, [clientId(), new LateOption()]);
  solicit().validate(); // not registered yet: accepted anywhere
  registerOption(LateOption);
  assert.throws(() => solicit().validate(), /late \(65002\) may not appear in solicit/);
  allowInMessage(1, 65002, 0, 1);
  solicit().validate();
  allowInMessage(1, 65002, 2, 2); // replacing a rule keeps the table size
  assert.throws(() => solicit().validate(), /exactly 2 late/);
  allowInMessage(1, 65002, 0, 1);
});

Deno.test("unique IAIDs: per option code, with any number of IAs", () => {
  checkUniqueIaids([new IANAOption(1), new IAPDOption(1), new IATAOption(1)], "m");
  checkUniqueIaids([new IANAOption(1), new IANAOption(2), new IANAOption(0xffffffff)], "m");
  assert.throws(
    () => checkUniqueIaids([new IANAOption(7), new IAPDOption(7), new IANAOption(7)], "m"),
    /m contains option 3 with IAID 7 twice/,
  );
  assert.throws(() => checkUniqueIaids([new IANAOption(-1), new IANAOption(-1)], "m"), /IAID -1/);
  const many = Array.from({ length: 1000 }, (_, i) => new IAPDOption(i));
  checkUniqueIaids(many, "m");
  assert.throws(() => checkUniqueIaids([...many, new IAPDOption(999)], "m"), /IAID 999 twice/);
});
