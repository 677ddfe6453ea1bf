/**
 * `dhcpkit ctl explain` as readable text: the server's explanation (a JSON trace, see
 * src/pipeline/explain.ts) one step per line, the reply decoded as `dhcpkit query` shows it.
 * @module
 */

import type { ExplainTrace } from "../src/pipeline/mod.ts";
import { fromHex, parseMessage } from "../src/protocol/mod.ts";
import { summarize } from "./query/summary.ts";

/** The lines of `trace` as text. */
export function formatExplain(trace: ExplainTrace): string[] {
  const lines = [`Request: ${trace.request.summary}`];
  if (trace.request.interface) lines.push(`Received on: ${trace.request.interface}`);
  lines.push("", "Filters:");
  if (trace.filters.length === 0) lines.push("  (none configured)");
  for (const f of trace.filters) {
    lines.push(`${"  ".repeat(f.depth + 1)}${f.matched ? "[x]" : "[ ]"} ${f.filter}: ${f.reason}`);
  }
  lines.push("", "Handlers:");
  for (const h of trace.handlers) {
    const tail = h.skipped ? ` (skipped: ${h.skipped})` : "";
    lines.push(`  ${h.phase.padEnd(12)} ${h.handler} [${h.scope}]${tail}`);
    for (const n of h.notes) lines.push(`      note: ${n}`);
    for (const c of h.changes) lines.push(`      ${c}`);
    if (h.signal) lines.push(`      signal: ${h.signal}`);
  }
  lines.push("", "Assignment sources:");
  if (trace.sources.length === 0) lines.push("  (none asked)");
  for (const s of trace.sources) {
    lines.push(`  ${s.source} (${s.handler})`);
    lines.push(`      asked: ${s.asked.join(", ") || "nothing"}`);
    lines.push(`      result: ${s.result}`);
    if (s.location) lines.push(`      at: ${s.location}`);
  }
  if (trace.pools?.length) {
    lines.push("", "Pools:");
    for (const p of trace.pools) {
      lines.push(`  ${p.pool}${p.ia ? ` ${p.ia}` : ""} (${p.store})`);
      lines.push(`      result: ${p.result}`);
      for (const l of p.held) lines.push(`      client holds: ${l}`);
    }
  }
  lines.push("", `Outcome: ${trace.outcome}${trace.reason ? `: ${trace.reason}` : ""}`);
  if (trace.reply) {
    lines.push("", "Reply:");
    try {
      for (const l of summarize(parseMessage(fromHex(trace.reply.hex)), "the server")) {
        lines.push(`  ${l}`);
      }
    } catch {
      lines.push(`  ${trace.reply.type} (${trace.reply.hex})`);
    }
  }
  if (trace.dryRun.length) lines.push("", `Dry run: ${trace.dryRun.join("; ")}`);
  return lines;
}
