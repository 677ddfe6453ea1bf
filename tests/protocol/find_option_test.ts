/** Tests for finding options by class. */

import assert from "node:assert/strict";
import {
  ClientIdOption,
  DuidOption,
  findOption,
  findOptions,
  IAAddressOption,
  IAPrefixOption,
  LinkLayerDuid,
  ServerIdOption,
  UnknownOption,
} from "../../src/protocol/mod.ts";

Deno.test("findOption / findOptions: by class, subclasses included", () => {
  const duid = new LinkLayerDuid(1, new Uint8Array(6));
  const options = [
    new UnknownOption(999, new Uint8Array(0)),
    new ServerIdOption(duid),
    new ClientIdOption(duid),
  ];
  assert.equal(findOption(options, ClientIdOption), options[2]);
  assert.equal(findOption(options, DuidOption), options[1]);
  assert.equal(findOption(options, IAAddressOption), undefined);
  assert.deepEqual(findOptions(options, DuidOption), [options[1], options[2]]);
  assert.deepEqual(findOptions(options, IAPrefixOption), []);
});
