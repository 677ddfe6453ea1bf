/**
 * How long the ways the `ffi` I/O loop could wait `io-batch-delay` really sleep on this machine:
 * `Atomics.wait` (what the loop uses), `clock_nanosleep(2)`, `epoll_wait(2)` (whole milliseconds
 * only) and `epoll_pwait2(2)` (a timespec), each with the thread's default timer slack (50 us)
 * and after `prctl(PR_SET_TIMERSLACK, 1)`. Prints the median, p90, p99 and maximum of the actual
 * sleep, in us, for each requested duration.
 *
 * Then the same `Atomics.wait` and `clock_nanosleep` while another thread of the process spins on
 * the same core (as V8's garbage-collection threads run beside a server's I/O thread when both are
 * on one core): the sleeper must take the core back when its timer fires. With the default
 * scheduling slice, and with a short one asked through `sched_setattr(2)` (`sched_runtime`, which
 * Linux's EEVDF scheduler takes as the slice of a normal task since 6.12; a task with a shorter
 * slice than the running one preempts it on wake-up).
 *
 *   taskset -c 1 deno run --allow-ffi --allow-sys bench/sleep_precision.ts [--samples 2000]
 *     [--ms 0.25,0.5,1] [--no-contended]
 *
 * Linux, x86_64 or aarch64 (syscall numbers below). Not a `deno bench` file: it measures the
 * machine, not the code.
 * @module
 */

const args = Deno.args;
const arg = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const SAMPLES = Number(arg("samples", "2000"));
const DURATIONS = arg("ms", "0.25,0.5,1").split(",").map(Number);

const lib = Deno.dlopen("libc.so.6", {
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  clock_nanosleep: { parameters: ["i32", "i32", "buffer", "buffer"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  syscall: {
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  gettid: { parameters: [], result: "i32" },
}).symbols;

const PR_SET_TIMERSLACK = 29;
const PR_GET_TIMERSLACK = 30;
const CLOCK_MONOTONIC = 1;
/** epoll_pwait2(2): the same number on x86_64 and aarch64 (added after the tables were unified). */
const SYS_EPOLL_PWAIT2 = 441n;
/** sched_setattr(2). */
const SYS_SCHED_SETATTR = Deno.build.arch === "x86_64" ? 314n : 274n;

const timespec = new BigInt64Array(2);
const tsBytes = new Uint8Array(timespec.buffer);
const tsAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(tsBytes)));
const events = new Uint8Array(16);
const eventsAddress = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(events)));
const epfd = lib.epoll_create1(0);
if (epfd < 0) throw new Error("epoll_create1 failed");
const cell = new Int32Array(new SharedArrayBuffer(4));

function setTimespec(ms: number): void {
  const ns = Math.round(ms * 1e6);
  timespec[0] = BigInt(Math.floor(ns / 1e9));
  timespec[1] = BigInt(ns % 1e9);
}

/** The ways of sleeping `ms` milliseconds. */
const METHODS: Record<string, (ms: number) => void> = {
  "Atomics.wait": (ms) => void Atomics.wait(cell, 0, 0, ms),
  "clock_nanosleep": (ms) => {
    setTimespec(ms);
    lib.clock_nanosleep(CLOCK_MONOTONIC, 0, tsBytes, null);
  },
  "epoll_wait (ceil ms)": (ms) => void lib.epoll_wait(epfd, events, 1, Math.ceil(ms)),
  "epoll_pwait2": (ms) => {
    setTimespec(ms);
    lib.syscall(SYS_EPOLL_PWAIT2, BigInt(epfd), eventsAddress, 1n, tsAddress, 0n, 0n);
  },
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

function measure(sleep: (ms: number) => void, ms: number, samples = SAMPLES): number[] {
  for (let i = 0; i < 50; i++) sleep(ms); // warm-up (JIT, FFI trampolines)
  const out: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    sleep(ms);
    out.push((performance.now() - t0) * 1000);
  }
  return out.sort((a, b) => a - b);
}

const row = (cells: (string | number)[]) =>
  console.log(
    "| " + cells.map((c, i) => i < 2 ? String(c).padEnd(i ? 9 : 20) : String(c).padStart(7))
      .join(" | ") +
      " |",
  );

console.log(
  `sleep precision, ${SAMPLES} samples each, ${new Date().toISOString()}, ` +
    `${Deno.osRelease()}, ${navigator.hardwareConcurrency} cores; actual sleep in us`,
);
for (const slack of [0, 1]) {
  if (slack) {
    if (lib.prctl(PR_SET_TIMERSLACK, 1n, 0n, 0n, 0n) !== 0) throw new Error("prctl failed");
  }
  const current = lib.prctl(PR_GET_TIMERSLACK, 0n, 0n, 0n, 0n);
  console.log(`\ntimer slack ${current} ns${slack ? " (prctl(PR_SET_TIMERSLACK, 1))" : ""}:\n`);
  row(["method", "asked", "median", "p90", "p99", "max", "over"]);
  row(["-".repeat(20), "-".repeat(9), ...Array(5).fill("-".repeat(7))]);
  for (const [name, sleep] of Object.entries(METHODS)) {
    for (const ms of DURATIONS) {
      sampleRow(name, ms, measure(sleep, ms));
    }
  }
}
console.log("\n(over = median / asked)");

/** One table row: what `samples` (sorted, us) of a `ms` wait by `label` show. */
function sampleRow(label: string, ms: number, samples: number[]): void {
  const med = percentile(samples, 0.5);
  row([
    label,
    `${ms} ms`,
    med.toFixed(0),
    percentile(samples, 0.9).toFixed(0),
    percentile(samples, 0.99).toFixed(0),
    samples[samples.length - 1].toFixed(0),
    `${(med / (ms * 1000)).toFixed(2)}x`,
  ]);
}

/** struct sched_attr (SCHED_ATTR_SIZE_VER1, 56 bytes) for SCHED_OTHER with `sliceNs` (0: default). */
function setSlice(sliceNs: number): void {
  const attr = new DataView(new ArrayBuffer(56));
  attr.setUint32(0, 56, true); // size; policy 0 = SCHED_OTHER, flags 0, nice 0, priority 0
  attr.setBigUint64(24, BigInt(sliceNs), true); // sched_runtime: the slice (EEVDF, Linux 6.12)
  const bytes = new Uint8Array(attr.buffer);
  const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes)));
  const rc = lib.syscall(SYS_SCHED_SETATTR, BigInt(lib.gettid()), address, 0n, 0n, 0n, 0n);
  if (rc !== 0n) throw new Error(`sched_setattr failed (${rc})`);
}

if (!args.includes("--no-contended")) {
  // A thread that never sleeps, on the same core when the process is pinned to one (taskset).
  const spinner = new Worker(
    URL.createObjectURL(
      new Blob(["postMessage('spinning'); for (;;) { /* stand-in for a GC thread */ }"], {
        type: "text/javascript",
      }),
    ),
    { type: "module" },
  );
  await new Promise((resolve) => spinner.onmessage = resolve);
  console.log(
    "\ntimer slack 1 ns, another thread of the process spinning (on the same core when pinned " +
      "to one):\n",
  );
  row(["method", "asked", "median", "p90", "p99", "max", "over"]);
  row(["-".repeat(20), "-".repeat(9), ...Array(5).fill("-".repeat(7))]);
  const contended = Math.min(SAMPLES, 500);
  for (const [slice, label] of [[0, "default slice"], [100_000, "slice 0.1 ms"]] as const) {
    setSlice(slice);
    for (const name of ["Atomics.wait", "clock_nanosleep"]) {
      for (const ms of DURATIONS) {
        sampleRow(`${name}, ${label}`, ms, measure(METHODS[name], ms, contended));
      }
    }
  }
  spinner.terminate();
  Deno.exit(0); // the terminated spinner can keep the process alive
}
