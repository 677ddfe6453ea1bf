/**
 * Helpers shared by the reply template tests: clients, a relay, statistics categories, and a
 * comparison of a pipeline that reuses answers with one that never does.
 * @module
 */

import assert from "node:assert/strict";
import { ClientIdOption, LinkLayerDuid, Writer } from "../../src/protocol/mod.ts";
import {
  type HandleResult,
  type IncomingPacket,
  type MessageHandler,
  StatisticsCategories,
  StatisticsStore,
} from "../../src/pipeline/mod.ts";
import { settled } from "./helpers.ts";

/** Statistics sets per interface, subnet and relay, so that reused answers count in all three. */
export const CATEGORIES = (): StatisticsCategories =>
  new StatisticsCategories(["eth0"], ["2001:db8:1::/48"], ["2001:db8:ff::1", "2001:db8:1::2"]);

/** Client `i`'s MAC address. */
export const mac = (i: number): Uint8Array =>
  new Uint8Array([2, 0, 0, (i >> 16) & 255, (i >> 8) & 255, i & 255]);
/** Client `i`'s Client ID (a DUID-LL). */
export const duidOption = (i: number): ClientIdOption =>
  new ClientIdOption(new LinkLayerDuid(1, mac(i)));

/** How a request from the test relay arrives. */
export const fromRelay = { source: "2001:db8:1::2", sourcePort: 547, multicast: false };

/** What a caller sees of a result, with the bytes copied (they may be a writer's views). */
export function seen(r: HandleResult): unknown {
  return {
    outcome: r.outcome,
    keys: r.keys ? [...r.keys] : undefined,
    replies: r.replies.map((o) => ({ ...o, data: [...o.data] })),
  };
}

/**
 * Feed `packets` to a pipeline that reuses answers and to one that never does: every result and
 * the statistics must be equal. Returns how many answers were reused.
 */
export function compare(
  [reusing, full]: [MessageHandler, MessageHandler],
  packets: IncomingPacket[],
): { reused: number } {
  const statsA = new StatisticsStore(), statsB = new StatisticsStore();
  const writer = new Writer(64);
  let reused = 0;
  packets.forEach((p, i) => {
    writer.reset();
    const a = settled(reusing.handle({ ...p, replyWriter: writer }, statsA));
    const b = settled(full.handle({ ...p, replyWriter: undefined }, statsB, undefined, false));
    assert.deepEqual(seen(a), seen(b), `request ${i}`);
    if (a.outcome === "reply" && !a.bundle) reused++;
  });
  assert.deepEqual(statsA.drain(), statsB.drain(), "statistics");
  return { reused };
}
