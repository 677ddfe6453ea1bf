/**
 * Per-exchange delay from a capture taken next to the client (bench/load/harness.sh, `LATENCY=1`):
 * every request (Solicit, Request, Renew, Rebind, Information-request, relayed or not) is paired
 * with the first answer carrying its transaction id, and the delays are summarised.
 *
 *   tshark -r CAPTURE -T fields -e frame.time_epoch -e dhcpv6.msgtype -e dhcpv6.xid |
 *     deno run bench/load/latency.ts
 *
 * Prints one line: `pairs=N min=… avg=… p50=… p99=… max=…` (milliseconds), or `pairs=0`.
 * @module
 */

const REQUESTS = new Set([1, 3, 5, 6, 8, 9, 11]);
const ANSWERS = new Set([2, 7]);

/** A request (send time, ms) and its delay until the answer, in ms. */
export interface RequestPair {
  at: number;
  delay: number;
}

/** The request/answer pairs of tshark's field lines, in the order of their answers. */
export function requestPairs(lines: Iterable<string>): RequestPair[] {
  const sent = new Map<string, number>();
  const pairs: RequestPair[] = [];
  for (const line of lines) {
    const [time, types, xids] = line.split("\t");
    if (!time || !types || !xids) continue;
    // Relayed messages list the relay's type first and the client message's last.
    const type = Number(types.split(",").at(-1));
    const xid = xids.split(",").at(-1)!;
    const at = Number(time) * 1000;
    if (REQUESTS.has(type)) {
      if (!sent.has(xid)) sent.set(xid, at);
    } else if (ANSWERS.has(type)) {
      const start = sent.get(xid);
      if (start !== undefined) {
        pairs.push({ at: start, delay: at - start });
        sent.delete(xid);
      }
    }
  }
  return pairs;
}

/** The delays (ms) of the request/answer pairs in tshark's field lines. */
export function pairDelays(lines: Iterable<string>): number[] {
  return requestPairs(lines).map((p) => p.delay);
}

/** The `q` quantile (0-1) of sorted `values` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** The summary line of `delays`. */
export function summary(delays: number[]): string {
  if (delays.length === 0) return "pairs=0";
  const sorted = [...delays].sort((a, b) => a - b);
  const avg = sorted.reduce((s, d) => s + d, 0) / sorted.length;
  const f = (x: number) => x.toFixed(3);
  return `pairs=${sorted.length} min=${f(sorted[0])} avg=${f(avg)} p50=${
    f(quantile(sorted, 0.5))
  } p99=${f(quantile(sorted, 0.99))} max=${f(sorted.at(-1)!)}`;
}

if (import.meta.main) {
  const text = await new Response(Deno.stdin.readable).text();
  console.log(summary(pairDelays(text.split("\n"))));
}
