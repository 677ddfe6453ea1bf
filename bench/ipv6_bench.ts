/**
 * IPv6 text benchmarks (`deno bench bench/ipv6_bench.ts`): reading address text into a buffer
 * (what serialising an address option does) and writing 16 bytes as text (what parsing one does).
 * @module
 */

import { formatIPv6, parseIPv6, parseIPv6Into } from "../src/protocol/mod.ts";

const TEXTS = [
  "2001:db8::1",
  "fe80::21a:2bff:fe3c:4d5e",
  "2001:db8:1:2:3:4:5:6",
  "::ffff:192.0.2.1",
];
const BYTES = TEXTS.map((t) => parseIPv6(t));
const out = new Uint8Array(16);

Deno.bench("parse IPv6 text into a buffer", { group: "ipv6" }, () => {
  for (const text of TEXTS) parseIPv6Into(text, out, 0);
});
Deno.bench("parse IPv6 text in new string objects", { group: "ipv6" }, () => {
  // Equal text in new string objects, as formatted from a parsed packet: hashed each time.
  for (let i = 0; i < 4; i++) parseIPv6Into(`2001:db8::${i + 1}`, out, 0);
});
Deno.bench("format IPv6 bytes", { group: "ipv6", baseline: true }, () => {
  for (const bytes of BYTES) formatIPv6(bytes, 0);
});
