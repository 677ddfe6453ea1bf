/**
 * Where the slow answers of a capture are (bench/load/harness.sh with `LATENCY=1 KEEP_PCAP=1`):
 * spread over the run (each request waiting a little too long) or bunched in episodes (the server
 * stalled and everything that arrived meanwhile waited). Requests are paired with their answers as
 * in latency.ts; an answer slower than `--over` ms (2) is slow, and slow requests sent less than
 * `--gap` ms (5) apart belong to one episode.
 *
 *   tshark -r CAPTURE -T fields -e frame.time_epoch -e dhcpv6.msgtype -e dhcpv6.xid |
 *     deno run bench/load/latency_tail.ts [--over 2] [--gap 5]
 *
 * Prints the pairs, p99 and p99.9, how many answers were slow, the episodes by size (1, 2-4,
 * 5-19, 20+ slow answers) with the share of the slow answers in each, and the longest episodes
 * (start in ms from the first request, length, slow answers, worst delay).
 * @module
 */

import { quantile, type RequestPair, requestPairs } from "./latency.ts";

/** The request/answer pairs of tshark's field lines, in request order. */
export function pairs(lines: Iterable<string>): RequestPair[] {
  return requestPairs(lines).sort((a, b) => a.at - b.at);
}

/** An episode: slow requests sent less than the gap apart. */
export interface Episode {
  start: number;
  end: number;
  slow: number;
  worst: number;
}

/** Group the slow pairs (delay over `over` ms) of `all` into episodes (`gap` ms apart at most). */
export function episodes(all: readonly RequestPair[], over: number, gap: number): Episode[] {
  const out: Episode[] = [];
  let cur: Episode | undefined;
  for (const p of all) {
    if (p.delay <= over) continue;
    if (cur && p.at - cur.end <= gap) {
      cur.end = p.at;
      cur.slow++;
      cur.worst = Math.max(cur.worst, p.delay);
    } else {
      cur = { start: p.at, end: p.at, slow: 1, worst: p.delay };
      out.push(cur);
    }
  }
  return out;
}

if (import.meta.main) {
  const args = Deno.args;
  const arg = (name: string, fallback: number) => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const over = arg("over", 2), gap = arg("gap", 5);
  const text = await new Response(Deno.stdin.readable).text();
  const all = pairs(text.split("\n"));
  if (all.length === 0) {
    console.log("pairs=0");
  } else {
    const sorted = all.map((p) => p.delay).sort((a, b) => a - b);
    const eps = episodes(all, over, gap);
    const slow = eps.reduce((s, e) => s + e.slow, 0);
    const t0 = all[0].at;
    const bins = [[1, 1], [2, 4], [5, 19], [20, Infinity]] as const;
    const f = (x: number) => x.toFixed(2);
    console.log(
      `pairs=${all.length} p99=${f(quantile(sorted, 0.99))} p99.9=${f(quantile(sorted, 0.999))} ` +
        `max=${f(sorted.at(-1)!)} slow(>${over}ms)=${slow} (${
          (100 * slow / all.length).toFixed(2)
        }%) ` +
        `episodes=${eps.length} ` +
        bins.map(([lo, hi]) => {
          const inBin = eps.filter((e) => e.slow >= lo && e.slow <= hi);
          const n = inBin.reduce((s, e) => s + e.slow, 0);
          return `[${lo}${hi === lo ? "" : hi === Infinity ? "+" : "-" + hi}]:${inBin.length}/${
            slow ? Math.round(100 * n / slow) : 0
          }%`;
        }).join(" "),
    );
    const longest = [...eps].sort((a, b) => b.slow - a.slow).slice(0, 8);
    console.log(
      "longest: " +
        longest.map((e) =>
          `@${Math.round(e.start - t0)}ms+${f(e.end - e.start)}:${e.slow}x<=${f(e.worst)}`
        ).join(" "),
    );
  }
}
