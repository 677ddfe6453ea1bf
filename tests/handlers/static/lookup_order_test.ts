/** Tests for the order in which the static handler asks its source for the client's keys. */

import assert from "node:assert/strict";
import { StaticAssignmentHandler } from "../../../src/handlers/static/handler.ts";
import type { Assignment } from "../../../src/handlers/static/ids.ts";
import type { AssignmentSource } from "../../../src/handlers/static/source.ts";
import { IANAOption, InterfaceIdOption, RemoteIdOption } from "../../../src/protocol/mod.ts";
import { CLIENT_DUID, iana, pipeline, relayed, run } from "../../pipeline/helpers.ts";
import { solicit } from "./fixtures.ts";

const LIFETIMES = {
  addressPreferredLifetime: 1,
  addressValidLifetime: 2,
  prefixPreferredLifetime: 1,
  prefixValidLifetime: 2,
};
const ASSIGNED: Assignment = { address: "2001:db8::7" };
const RELAY_IDS = [
  new InterfaceIdOption(new TextEncoder().encode("ge-0/0/1")),
  new RemoteIdOption(9, new Uint8Array([1, 2])),
];
const KEYS = [
  "duid:" + CLIENT_DUID.toHex(),
  "interface-id:67652d302f302f31",
  "remote-id:9:0102",
];

/** A source answering for `key` only, recording what it is asked. */
function source(key: string, oneByOne: boolean, asked: string[][]): AssignmentSource {
  const found = (id: string) => id === key ? ASSIGNED : undefined;
  return {
    description: "test",
    lookup(ids) {
      asked.push([...ids]);
      return ids.map(found).find((a) => a !== undefined);
    },
    ...(oneByOne ? { lookupOne: (id: string) => (asked.push([id]), found(id)) } : {}),
    close() {},
  };
}

async function addressFor(src: AssignmentSource): Promise<string | undefined> {
  const handler = new StaticAssignmentHandler(LIFETIMES, () => src);
  await handler.workerInit();
  const message = relayed(solicit(CLIENT_DUID, iana(1)), "2001:db8:ffff::1", "fe80::1", RELAY_IDS);
  const reply = run(pipeline([handler]), message).reply!;
  const ia = reply.getOption(IANAOption)!;
  return (ia.options[0] as { address?: string }).address;
}

Deno.test("static: a source that looks keys up one by one is asked until the first hit", async () => {
  for (const [hit, expected] of [[0, 1], [1, 2], [2, 3]]) {
    const asked: string[][] = [];
    assert.equal(await addressFor(source(KEYS[hit], true, asked)), "2001:db8::7");
    assert.deepEqual(asked, KEYS.slice(0, expected).map((k) => [k]));
  }
  const asked: string[][] = [];
  assert.equal(await addressFor(source("none", true, asked)), undefined);
  assert.deepEqual(asked, KEYS.map((k) => [k]));
});

Deno.test("static: a source without one-by-one lookups gets every key at once", async () => {
  const asked: string[][] = [];
  assert.equal(await addressFor(source(KEYS[2], false, asked)), "2001:db8::7");
  assert.deepEqual(asked, [KEYS]);
});

Deno.test("static: keys are asked again when the source's answers changed mid-request", async () => {
  // The first key's answer was kept from before a commit that the third key's read revealed:
  // the source moves its generation, and the handler asks every key again.
  const asked: string[] = [];
  let generation = 0;
  let fresh = false;
  const src: AssignmentSource = {
    description: "test",
    lookup: () => undefined,
    lookupOne(id) {
      asked.push(id);
      if (id === KEYS[2] && !fresh) {
        fresh = true;
        generation++;
        return { address: "2001:db8::3" };
      }
      return id === KEYS[0] && fresh ? ASSIGNED : undefined;
    },
    get generation() {
      return generation;
    },
    close() {},
  };
  assert.equal(await addressFor(src), "2001:db8::7");
  assert.deepEqual(asked, [...KEYS, KEYS[0]]);
});
