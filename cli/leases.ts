/**
 * `dhcpkit leases --store FILE|URL [--json] [--duid HEX | --address ADDR | --prefix PREFIX]`
 * and `dhcpkit leases --store FILE|URL delete FILTER`: list, search and delete the leases of the
 * dynamic pools, for support staff.
 * @module
 */

import { type CommandOutput, consoleOutput, runCommand } from "./run.ts";
import { LEASES } from "./usage/commands.ts";
import type { ParsedArgs } from "./usage/parse.ts";
import { CommandError, UsageError } from "./errors.ts";
import { IPv6Prefix, normalizeIPv6 } from "../src/protocol/mod.ts";
import { LeaseStoreOpenError, openLeaseStore } from "../src/handlers/pools/open.ts";
import "../src/handlers/pools/postgresql.ts"; // makes postgresql:// stores openable
import { type Lease, type LeaseFilter, leaseJson } from "../src/handlers/pools/store.ts";

/** Run `leases`; returns the exit status. */
export async function leasesCommand(
  args: string[],
  output: CommandOutput = consoleOutput,
): Promise<number> {
  return await runCommand(LEASES, args, output, (parsed) => leases(parsed, output));
}

/** The filter the options give, checked. */
function filterOf(parsed: ParsedArgs): LeaseFilter {
  const filter: LeaseFilter = {};
  const given = ["duid", "address", "prefix"].filter((k) => parsed.string(k) !== undefined);
  if (given.length > 1) throw new UsageError("give at most one of --duid, --address, --prefix");
  const duid = parsed.string("duid");
  if (duid !== undefined) {
    const hex = duid.replaceAll(":", "").toLowerCase();
    if (!/^([0-9a-f]{2})+$/.test(hex)) throw new UsageError(`--duid: ${duid} is not hex`);
    filter.duid = hex;
  }
  const address = parsed.string("address");
  if (address !== undefined) {
    try {
      filter.address = normalizeIPv6(address);
    } catch {
      throw new UsageError(`--address: ${address} is not an IPv6 address`);
    }
  }
  const prefix = parsed.string("prefix");
  if (prefix !== undefined) {
    try {
      filter.prefix = IPv6Prefix.parse(prefix).text;
    } catch {
      throw new UsageError(`--prefix: ${prefix} is not an IPv6 prefix`);
    }
  }
  return filter;
}

function when(t: number): string {
  return t >= Number.MAX_SAFE_INTEGER ? "infinity" : new Date(t * 1000).toISOString();
}

/** One line of the text listing. */
export function leaseLine(l: Lease): string {
  return [l.type, l.resource, l.state, when(l.validUntil), l.duid || "-", l.iaid, l.pool]
    .join("  ");
}

async function leases(parsed: ParsedArgs, output: CommandOutput): Promise<number> {
  const target = parsed.string("store");
  if (!target) throw new UsageError("--store FILE|URL is needed");
  const [action] = parsed.positionals;
  if (action !== undefined && action !== "delete") {
    throw new UsageError(`unknown action ${JSON.stringify(action)} (only delete)`);
  }
  const filter = filterOf(parsed);
  const deleting = action === "delete";
  if (deleting && Object.keys(filter).length === 0) {
    throw new UsageError("delete needs --duid, --address or --prefix");
  }
  let store;
  try {
    store = await openLeaseStore(target, {
      write: deleting,
      passwordFile: parsed.string("password-file"),
    });
  } catch (e) {
    if (e instanceof LeaseStoreOpenError) throw new CommandError(e.message);
    throw e;
  }
  try {
    if (deleting) {
      const n = await store.delete(filter);
      output.out(`deleted ${n} lease${n === 1 ? "" : "s"}`);
      return 0;
    }
    const json = parsed.flag("json");
    for (const l of await store.list(filter)) {
      output.out(json ? JSON.stringify(leaseJson(l)) : leaseLine(l));
    }
    return 0;
  } finally {
    await store.close();
  }
}

if (import.meta.main) Deno.exit(await leasesCommand(Deno.args));
