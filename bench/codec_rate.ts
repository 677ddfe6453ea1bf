/**
 * Codec round trips per second on one core: `deno run --allow-read bench/codec_rate.ts [SECONDS]`.
 * A round trip is `serializeMessage(parseMessage(bytes))`; the target is >= 200,000/s for each
 * of the relayed Solicit and relayed Reply samples.
 * @module
 */

import { parseMessage, serializeMessage } from "../src/protocol/mod.ts";
import { relayedReply, relayedSolicit } from "../tests/protocol/samples.ts";

/** Target round trips per second per core (issue 2). */
export const TARGET = 200_000;

/** Round trips per second of `bytes`, measured for about `seconds` after a warm-up. */
export function roundTripRate(bytes: Uint8Array, seconds = 2): number {
  for (let i = 0; i < 50_000; i++) serializeMessage(parseMessage(bytes));
  let n = 0;
  const start = performance.now();
  const stop = start + seconds * 1000;
  let now = start;
  while (now < stop) {
    for (let i = 0; i < 1000; i++) serializeMessage(parseMessage(bytes));
    n += 1000;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  let below = false;
  for (
    const [name, message] of [
      ["relayed solicit", relayedSolicit()],
      ["relayed reply", relayedReply()],
    ] as const
  ) {
    const bytes = serializeMessage(message);
    const rate = roundTripRate(bytes, seconds);
    if (rate < TARGET) below = true;
    console.log(
      `${name} (${bytes.length} bytes): ${Math.round(rate).toLocaleString("en")} round trips/s` +
        (rate < TARGET ? ` (below target ${TARGET.toLocaleString("en")})` : ""),
    );
  }
  if (below) Deno.exitCode = 1;
}
