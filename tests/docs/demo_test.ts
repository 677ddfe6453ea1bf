/**
 * The README's first commands, as written: `deno task start` runs the embedded demo, and from
 * another terminal `deno task query` gets an Information-request answered and
 * `deno task query --rapid-commit solicit` a Reply with an address and a prefix for the DUID the
 * query task sends by default (DUID-LL 02:00:00:00:00:01).
 *
 * So that the test never meets a demo someone is running, it runs in a network namespace of its
 * own (root); without root it runs on the host only when [::1]:5547 is free, with the command
 * the `start` task stands for (so the server gets the signal that stops it). The README's
 * `npx deno task start` (Node.js only) is run the same way, in a namespace.
 * @module
 */

import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import {
  e2eTest,
  isRoot,
  type ManagedProcess,
  REPO_ROOT,
  run,
  withTopology,
} from "../e2e/netns.ts";
import { DEMO_PORT } from "../../src/server/demo.ts";
import { addressesIn, dnsServers, innermost, type Json, prefixesIn } from "./example_server.ts";

/** The demo's one client: what `deno task query` sends by default. */
const ADDRESS = "2001:db8::1:1";
const PREFIX = "2001:db8:1:100::/56";

/** True when nothing listens on the demo's port on the host. */
function demoPortFree(): boolean {
  try {
    Deno.listenDatagram({ transport: "udp", hostname: "::1", port: DEMO_PORT }).close();
    return true;
  } catch {
    return false;
  }
}

/** Why the test cannot run here, if it cannot. */
function whyNot(): string | undefined {
  if (isRoot()) return undefined;
  return demoPortFree()
    ? undefined
    : `needs root (a namespace of its own) or a free [::1]:${DEMO_PORT}: a demo is running`;
}

/** The tasks of deno.json. */
function tasks(): Record<string, string> {
  return JSON.parse(Deno.readTextFileSync(`${REPO_ROOT}deno.json`)).tasks;
}

/** A task's command line with `deno` replaced by this Deno. */
function taskCommand(name: string, extra: string[] = []): [string, string[]] {
  const [deno, ...args] = tasks()[name].split(/\s+/);
  assert.equal(deno, "deno");
  return [Deno.execPath(), [...args, ...extra]];
}

/**
 * The leases and type of the reply `dhcpkit query` printed: JSON (the message as sent, relay
 * layers included) or a readable summary.
 */
function answer(stdout: string): { type: string; addresses: string[]; prefixes: string[] } {
  try {
    const m = innermost(JSON.parse(stdout.trim().split("\n")[0]) as Json);
    return { type: m.type as string, addresses: addressesIn(m), prefixes: prefixesIn(m) };
  } catch {
    return {
      type: /\breply\b/i.test(stdout) ? "reply" : /advertise/i.test(stdout) ? "advertise" : "?",
      addresses: stdout.includes(ADDRESS) ? [ADDRESS] : [],
      prefixes: stdout.includes(PREFIX) ? [PREFIX] : [],
    };
  }
}

const DEMO_TEST = "README: deno task start, then deno task query (--rapid-commit solicit)";
const why = whyNot();
if (why) console.log(`note: skipping "${DEMO_TEST}": ${why}`);
Deno.test({
  name: DEMO_TEST,
  ignore: why !== undefined,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: demoTest,
});

async function demoTest(): Promise<void> {
  const before = readdirSync(REPO_ROOT).sort();
  await withTopology(async (t) => {
    const ns = isRoot() ? await t.namespace("demo") : undefined;
    const query = (args: string[]) =>
      ns === undefined
        ? run(...taskCommand("query", args), { cwd: REPO_ROOT, check: false })
        : t.exec(ns, "deno", ["task", "query", ...args], { check: false });
    let server: ManagedProcess;
    if (ns === undefined) {
      const [cmd, args] = taskCommand("start");
      server = t.spawn(undefined, cmd, args, "deno task start (its command)");
    } else {
      server = t.spawn(ns, "deno", ["task", "start"], "deno task start");
    }
    await server.waitFor(/Ready to handle requests/, 30_000);
    await checkDemo(query);
  });
  assert.deepEqual(readdirSync(REPO_ROOT).sort(), before, "the demo leaves no files behind");
}

e2eTest("README: with only Node.js, npx deno task start", {
  root: true,
  commands: { npx: "npm" },
}, () =>
  withTopology(async (t) => {
    const ns = await t.namespace("npx");
    const server = t.spawn(ns, "npx", ["deno", "task", "start"], "npx deno task start");
    await server.waitFor(/Ready to handle requests/, 60_000);
    await checkDemo((args) =>
      t.exec(ns, "npx", ["deno", "task", "query", ...args], { check: false })
    );
  }));

/** What the README says the demo answers. */
async function checkDemo(
  query: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>,
): Promise<void> {
  const info = await query([]);
  assert.equal(info.code, 0, info.stderr);
  try {
    assert.deepEqual(dnsServers(innermost(JSON.parse(info.stdout) as Json)), [
      "2001:db8::53",
      "2001:db8::153",
    ]);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    assert.match(info.stdout, /2001:db8::53/);
  }

  const solicit = await query(["--rapid-commit", "solicit"]);
  assert.equal(solicit.code, 0, solicit.stderr);
  const got = answer(solicit.stdout);
  assert.equal(got.type, "reply", solicit.stdout);
  assert.deepEqual(got.addresses, [ADDRESS], solicit.stdout);
  assert.deepEqual(got.prefixes, [PREFIX], solicit.stdout);
}
