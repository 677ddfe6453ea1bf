/**
 * Names V8's builtins in a `perf script` of a Deno process, and prints where its CPU goes.
 *
 * Deno runs V8's builtins (property loads that missed their inline cache, `instanceof`, typed
 * array constructors, calls into the C++ runtime...) from the embedded blob of its own binary,
 * remapped next to the JIT code. The binary is stripped, so perf shows those samples as
 * addresses in `deno`, mixed with the C++ runtime. This script asks the same deno binary for the
 * builtins' addresses (`--log-code`) and where that blob lies in the file (`/proc/self/maps`),
 * then reads `perf script` output on stdin and prints, by leaf: the share of samples of the
 * kernel, of JavaScript functions, of each builtin (with the JavaScript functions that called
 * it) and of the remaining C++ code (by the nearest named caller).
 *
 *   perf script -i perf.data | deno run -A bench/load/name_builtins.ts [--comm NAME] [--top N]
 *
 * `--comm` keeps the samples of threads of that name (e.g. `worker-1`, the I/O worker); the
 * binary must be the deno that ran the profiled process (`--deno PATH`, default this one).
 * @module
 */

import { parseArgs } from "node:util";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    comm: { type: "string" },
    top: { type: "string", default: "40" },
    deno: { type: "string", default: Deno.execPath() },
  },
});
const top = Number(values.top);

/** One builtin: its start as an offset into the deno binary, its size and its name. */
interface Builtin {
  offset: number;
  size: number;
  name: string;
}

/** The builtins of `deno` as file offsets, from a short run with `--log-code`. */
async function builtinsOf(deno: string): Promise<Builtin[]> {
  const dir = await Deno.makeTempDir({ prefix: "dhcpkit-builtins-" });
  try {
    const log = `${dir}/v8.log`;
    const out = await new Deno.Command(deno, {
      args: [
        "eval",
        `--v8-flags=--log-code,--logfile=${log},--no-logfile-per-isolate`,
        'console.log(Deno.readTextFileSync("/proc/self/maps"))',
      ],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`${deno} eval failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    const maps = new TextDecoder().decode(out.stdout).split("\n").map((line) => {
      const [range, , offset, , , path] = line.trim().split(/\s+/);
      const [start, end] = (range ?? "").split("-").map((h) => parseInt(h, 16));
      return { start, end, offset: parseInt(offset ?? "0", 16), path: path ?? "" };
    });
    const entries: Array<{ address: number; size: number; name: string }> = [];
    for (const line of (await Deno.readTextFile(log)).split("\n")) {
      if (
        !line.startsWith("code-creation,Builtin,") &&
        !line.startsWith("code-creation,BytecodeHandler,")
      ) continue;
      const f = line.split(",");
      entries.push({ address: parseInt(f[4], 16), size: Number(f[5]), name: f.slice(6).join(",") });
    }
    if (entries.length === 0) throw new Error("deno logged no builtins");
    const first = entries.reduce((a, b) => (a.address < b.address ? a : b));
    const blob = maps.find((m) => m.start <= first.address && first.address < m.end);
    if (!blob || !blob.path) {
      throw new Error("the builtins do not run from a file mapping of the binary: nothing to name");
    }
    return entries
      .map((e) => ({ offset: e.address - blob.start + blob.offset, size: e.size, name: e.name }))
      .sort((a, b) => a.offset - b.offset);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const builtins = await builtinsOf(values.deno);
const offsets = builtins.map((b) => b.offset);

/** The builtin containing file offset `x`, if any (binary search). */
function builtinAt(x: number): string | undefined {
  let lo = 0, hi = offsets.length - 1, found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (offsets[mid] <= x) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const b = builtins[found];
  return b && x < b.offset + b.size ? b.name : undefined;
}

/** A frame of a sample, classified. */
type Frame =
  | { kind: "kernel" | "cpp" | "other"; name: string }
  | { kind: "builtin" | "js"; name: string };

const denoPath = /\/deno\)$|\(.*\/deno\)$/;

function frameOf(line: string): Frame {
  const m = /^\s*([0-9a-f]+)\s+(.*)$/.exec(line);
  if (!m) return { kind: "other", name: line.trim() };
  const [, address, rest] = m;
  if (rest.includes("[kernel.kallsyms]")) {
    return { kind: "kernel", name: rest.replace(/\+0x.*$/, "") };
  }
  if (rest.includes("JS:")) {
    return {
      kind: "js",
      name: rest.replace(/^.*?JS:/, "").replace(/\+0x[0-9a-f]+ \(.*$/, "").replace(
        /file:\/\/\/[^ ]*?\/src\//,
        "src/",
      ),
    };
  }
  if (denoPath.test(rest)) {
    const name = builtinAt(parseInt(address, 16));
    return name ? { kind: "builtin", name } : { kind: "cpp", name: "deno C++" };
  }
  return { kind: "other", name: rest.replace(/\+0x[0-9a-f]+ /, " ").trim() };
}

const leaf = new Map<string, number>();
const callers = new Map<string, Map<string, number>>();
const byKind = new Map<string, number>();
let total = 0;
const count = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);

function addSample(header: string, lines: string[]) {
  if (values.comm && !header.trimStart().startsWith(values.comm + " ")) return;
  const frames = lines.map(frameOf);
  if (frames.length === 0) return;
  total++;
  const f0 = frames[0];
  let key: string;
  if (f0.kind === "builtin") key = `builtin ${f0.name}`;
  else if (f0.kind === "js") key = `js ${f0.name}`;
  else if (f0.kind === "kernel") key = "kernel";
  else if (f0.kind === "cpp") {
    // Unnamed C++: by the nearest named frame above it (a builtin such as CEntry or
    // CallApiCallback tells runtime functions and API calls apart).
    const named = frames.find((f) => f.kind === "builtin" || f.kind === "js");
    key = `C++ under ${named ? named.name : "?"}`;
  } else key = `other ${f0.name}`;
  count(byKind, f0.kind);
  count(leaf, key);
  if (f0.kind === "builtin" || f0.kind === "cpp") {
    const js = frames.find((f) => f.kind === "js");
    const m = callers.get(key) ?? new Map<string, number>();
    count(m, js ? js.name : "?");
    callers.set(key, m);
  }
}

let header = "";
let frames: string[] = [];
const decoder = new TextDecoderStream();
let rest = "";
for await (const chunk of Deno.stdin.readable.pipeThrough(decoder)) {
  const lines = (rest + chunk).split("\n");
  rest = lines.pop() ?? "";
  for (const line of lines) {
    if (line.trim() === "") {
      if (header) addSample(header, frames);
      header = "";
      frames = [];
    } else if (!header) header = line;
    else frames.push(line);
  }
}
if (header) addSample(header, frames);

const pct = (n: number) => `${(100 * n / Math.max(1, total)).toFixed(1).padStart(5)}%`;
console.log(`${total} samples${values.comm ? ` of ${values.comm}` : ""}; by kind of leaf:`);
for (const [k, n] of [...byKind].sort((a, b) => b[1] - a[1])) console.log(`${pct(n)}  ${k}`);
console.log(`\ntop ${top} leaves (builtins and C++ with their JavaScript callers):`);
for (const [k, n] of [...leaf].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  const c = callers.get(k);
  const from = c
    ? "  <- " +
      [...c].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([f, m]) => `${f} (${m})`).join(", ")
    : "";
  console.log(`${pct(n)}  ${k}${from}`);
}
