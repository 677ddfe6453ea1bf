/**
 * Summarise a V8 .cpuprofile (from `deno run --cpu-prof`): self time per function and per file.
 *
 *   deno run --allow-read bench/tools/profile_summary.ts PROFILE [TOP]
 * @module
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

if (import.meta.main) {
  const [path, topText] = Deno.args;
  if (!path) {
    console.error("usage: profile_summary.ts PROFILE [TOP]");
    Deno.exit(2);
  }
  const profile = JSON.parse(Deno.readTextFileSync(path)) as Profile;
  const top = Number(topText ?? 30);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, t] of self) {
    const f = byId.get(id)!.callFrame;
    const short = f.url.replace(/^.*\/work\/main\//, "").replace(/^.*node_modules\//, "npm:");
    const key = `${f.functionName || "(anonymous)"}  ${short}:${f.lineNumber + 1}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    file.set(short || "(native)", (file.get(short || "(native)") ?? 0) + t);
  }
  const show = (title: string, m: Map<string, number>) => {
    console.log(`\n${title}`);
    for (const [k, t] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      console.log(`${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`);
    }
  };
  // Inclusive time: every sample counts for each distinct function on its stack.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, number>();
  for (const [id, t] of self) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      const key = `${f.functionName || "(anonymous)"}  ${f.url.replace(/^.*\/work\/main\//, "")}:${
        f.lineNumber + 1
      }`;
      if (!seen.has(key)) inclusive.set(key, (inclusive.get(key) ?? 0) + t), seen.add(key);
    }
  }
  console.log(`profile: ${(total / 1e6).toFixed(2)} s sampled`);
  show("inclusive time by function", inclusive);
  show("self time by function", fn);
  show("self time by file", file);
}
