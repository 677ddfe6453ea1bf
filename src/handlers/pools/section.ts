/**
 * Section types of the dynamic pools: the handlers `<address-pool PREFIX>` and
 * `<prefix-pool PREFIX>`, the top-level lease stores `<lease-store-sqlite FILE>` (and
 * `<lease-store-postgresql URL>`), the top-level `state-directory` key, and the checks across the
 * configuration (pools that overlap, address pools outside their `<subnet>`).
 * @module
 */

import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import {
  boolean,
  type ConfigSection,
  ConfigValueError,
  dataType,
  defineSection,
  duration,
  integer,
  type IPv6Prefix,
  ipv6Prefix,
  isSectionOf,
  type KeySpec,
  pathInExistingDir,
  type SectionChecker,
} from "../../config/mod.ts";
import { lookupGroup, lookupUser } from "../../config/accounts.ts";
import { connectionKeys, type ConnectionValues, postgresqlName } from "../postgresql.ts";

/** Where pools keep leases when no lease store section is configured (see `state-directory`). */
export const DEFAULT_STATE_DIRECTORY = "/var/lib/dhcpkit";
/** The file name of the default lease store in the state directory. */
export const DEFAULT_LEASE_FILE = "leases.sqlite";

/** Values shared by both pool sections. */
export interface PoolValues {
  /** The pool's prefix. */
  prefix: IPv6Prefix;
  /** Preferred lifetime of leases, seconds. */
  preferredLifetime: number;
  /** Valid lifetime of leases, seconds. */
  validLifetime: number;
  /** How long a declined address stays unused, seconds. */
  declineProbation: number;
}

/** Values of `<prefix-pool PREFIX>`. */
export interface PrefixPoolValues extends PoolValues {
  /** Length of the delegated prefixes. */
  delegatedLength: number;
}

/** Values of `<lease-store-sqlite FILE>`. */
export interface LeaseStoreSqliteValues {
  /** Absolute path of the database. */
  path: string;
  /** Seconds between runs of the reclaim of expired leases. */
  reclaimInterval: number;
  /** Commit the leases of the requests handled together in one transaction. */
  groupCommit: boolean;
}

const lifetime = duration({ infinity: true });

/** The `reclaim-interval` key of the lease store sections. */
export const reclaimIntervalKey: KeySpec = {
  name: "reclaim-interval",
  type: duration({ max: 86400 }),
  default: 60,
  defaultText: "60s",
  description: "How often expired leases (and declined addresses at the end of their " +
    "probation) are turned free and counted as reclaimed. Expired leases can be handed out " +
    "again before that; this keeps the statistics and the `leases` listing current.",
  example: "5m",
};

function poolKeys(preferred: number, valid: number): KeySpec[] {
  return [
    {
      name: "preferred-lifetime",
      type: lifetime,
      default: preferred,
      defaultText: `${preferred / 3600}h`,
      description: "Preferred lifetime of the leases. T1 and T2 are 0.5 and 0.8 of it unless " +
        "`<iana-timing-limits>` / `<iapd-timing-limits>` bound them.",
      example: "30m",
    },
    {
      name: "valid-lifetime",
      type: lifetime,
      default: valid,
      defaultText: `${valid / 3600}h`,
      description: "Valid lifetime of the leases: how long a lease lasts without a renewal.",
      example: "1h",
    },
    {
      name: "decline-probation",
      type: duration(),
      default: 86400,
      defaultText: "1d",
      description: "How long an address a client declined (RFC 8415 §18.3.8: another host " +
        "uses it) is kept out of use before it is handed out again.",
      example: "12h",
    },
  ];
}

function checkPoolLifetimes(section: ConfigSection<PoolValues>, check: SectionChecker): void {
  const v = section.values;
  if (v.preferredLifetime > v.validLifetime) {
    check.error("preferred-lifetime must not be longer than valid-lifetime");
  }
  if (v.validLifetime === 0) check.error("valid-lifetime must be more than 0");
}

const poolLifetimeSyntax = " Lifetimes are seconds, or use the suffixes `s`, `m`, `h`, `d` and " +
  "`w`; `INFINITY` never expires. Where the pools' leases are kept is the top-level lease " +
  "store (`<lease-store-sqlite>`, `<lease-store-postgresql>`), else `leases.sqlite` in the " +
  "`state-directory`.";

/** `<address-pool PREFIX>` handler. */
export const addressPoolSection = defineSection<PoolValues>({
  type: "address-pool",
  kind: "handler",
  description: "Hands out addresses from the prefix named by the section to clients that ask " +
    "for an address (IA_NA) and have none from a static assignment in scope. A client keeps " +
    "its address while it renews, and gets it back after it expired or was released as long " +
    "as nobody else took it. Several IA_NAs of one client get an address each. Put the pool in " +
    "the `<subnet>` (or other filter) of the link it serves; an address pool must lie inside " +
    "that subnet, and pools must not overlap. When the pool is exhausted the IA gets " +
    "NoAddrsAvail (another pool in scope is tried first)." + poolLifetimeSyntax,
  example: [
    "<subnet 2001:db8:1:2::/64>",
    "    <address-pool 2001:db8:1:2::1:0/112>",
    "        preferred-lifetime 30m",
    "        valid-lifetime 1h",
    "    </address-pool>",
    "</subnet>",
  ].join("\n"),
  name: {
    type: ipv6Prefix({ maxLength: 128 }),
    required: true,
    property: "prefix",
    description: "The addresses of the pool, as a prefix.",
  },
  keys: poolKeys(3600, 7200),
  validate: checkPoolLifetimes,
});

/** `<prefix-pool PREFIX>` handler. */
export const prefixPoolSection = defineSection<PrefixPoolValues>({
  type: "prefix-pool",
  kind: "handler",
  description: "Delegates prefixes of `delegated-length` from the prefix named by the section " +
    "to clients that ask for one (IA_PD) and have none from a static assignment in scope, " +
    "with the same rules as `<address-pool>`. When the pool is exhausted the IA gets " +
    "NoPrefixAvail." + poolLifetimeSyntax,
  example: [
    "<prefix-pool 2001:db8:100::/40>",
    "    delegated-length 56",
    "</prefix-pool>",
  ].join("\n"),
  name: {
    type: ipv6Prefix(),
    required: true,
    property: "prefix",
    description: "The prefix the delegated prefixes are taken from.",
  },
  keys: [
    {
      name: "delegated-length",
      type: integer(1, 128),
      required: true,
      description: "Length of each delegated prefix; not shorter than the pool's prefix.",
      example: "56",
    },
    ...poolKeys(3600, 7200),
  ],
  validate(section, check) {
    checkPoolLifetimes(section, check);
    const { prefix, delegatedLength } = section.values;
    if (delegatedLength < prefix.length) {
      check.error(
        `delegated-length ${delegatedLength} is shorter than the pool's prefix ${prefix.text}`,
        section.keyLines["delegated-length"],
      );
    }
  },
});

/** The account the server runs as after giving up root (`user`, `group`). */
export interface ServiceAccount {
  /** The user's name (for messages). */
  readonly user: string;
  /** Its uid. */
  readonly uid: number;
  /** The group's gid. */
  readonly gid: number;
}

/**
 * The account of the configuration's `user` and `group` when the check runs as root and the
 * server will not stay root: writability is judged for that account, not for the checking user.
 */
export function serviceAccount(root: ConfigSection): ServiceAccount | undefined {
  if (Deno.uid() !== 0) return undefined;
  const values = root.values as { user?: string; group?: string };
  const user = values.user ?? "nobody";
  const account = lookupUser(user);
  if (!account || account.uid === 0) return undefined;
  const gid = values.group === undefined ? account.gid : lookupGroup(values.group);
  if (gid === undefined) return undefined;
  return { user, uid: account.uid, gid };
}

/** True when the mode bits of `info` give `account` every permission of `want` (r 4, w 2, x 1). */
function permits(info: Deno.FileInfo, account: ServiceAccount, want: number): boolean {
  const mode = info.mode ?? 0;
  // The class that matches first decides, as the kernel does (ACLs are not looked at).
  const bits = info.uid === account.uid ? mode >> 6 : info.gid === account.gid ? mode >> 3 : mode;
  return (bits & want) === want;
}

/**
 * Why `account` (see {@link serviceAccount}) cannot write `path`, judged by owners and mode bits:
 * every folder above it must let the account through, and the file (or, when it is missing,
 * its folder) must let it write.
 */
function unwritableFor(path: string, account: ServiceAccount): string | undefined {
  const who = `user ${account.user} (uid ${account.uid}, gid ${account.gid}), whom the server ` +
    "runs as";
  const folder = dirname(path);
  const folders: string[] = [];
  for (let f = folder;; f = dirname(f)) {
    folders.unshift(f);
    if (dirname(f) === f) break;
  }
  for (const f of folders) {
    if (!permits(Deno.statSync(f), account, 1)) {
      return `${path} is not writable by ${who}: it may not enter folder ${f}`;
    }
  }
  if (existsSync(path)) {
    if (!permits(Deno.statSync(path), account, 2)) {
      return `${path} is not writable by ${who}`;
    }
  } else if (!permits(Deno.statSync(folder), account, 3)) {
    return `${path} cannot be created by ${who}: folder ${folder} does not let it write`;
  }
  return undefined;
}

/**
 * Why `path` cannot be written as the lease database, or undefined when it can: an existing
 * file must open for writing; otherwise its folder must accept a new file (a probe file the
 * check creates and removes again). With `account` (a check run as root for a server that
 * gives root up) the file must also be writable for that account.
 */
export function unwritableReason(path: string, account?: ServiceAccount): string | undefined {
  try {
    if (existsSync(path)) {
      if (statSync(path).isDirectory()) return `${path} is a folder`;
      Deno.openSync(path, { read: true, write: true }).close();
      return account && unwritableFor(path, account);
    }
    const folder = dirname(path);
    if (!existsSync(folder) || !statSync(folder).isDirectory()) {
      return `folder ${folder} does not exist`;
    }
    const probe = join(folder, `.dhcpkit-write-check-${Deno.pid}-${crypto.randomUUID()}`);
    Deno.openSync(probe, { write: true, createNew: true }).close();
    Deno.removeSync(probe);
    return account && unwritableFor(path, account);
  } catch (e) {
    return `${path} is not writable: ${(e as Error).message}`;
  }
}

/** `<lease-store-sqlite FILE>` top-level section. */
export const leaseStoreSqliteSection = defineSection<LeaseStoreSqliteValues>({
  type: "lease-store-sqlite",
  kind: "lease-store",
  description: "Keeps the leases of every `<address-pool>` and `<prefix-pool>` in an SQLite " +
    "database named by the section (created when missing; its folder must exist and be " +
    "writable by the server's user). Every worker writes a request's leases before the answer " +
    "is sent, so a lease a client was given survives the server being killed. One server " +
    "only: servers that share pools use `<lease-store-postgresql>`. `dhcpkit leases --store " +
    "FILE` lists and deletes leases.",
  example: "<lease-store-sqlite /var/lib/dhcpkit/leases.sqlite />",
  name: {
    type: pathInExistingDir,
    required: true,
    property: "path",
    description: "Path of the database file; relative paths start at the configuration " +
      "file's folder.",
  },
  keys: [reclaimIntervalKey, {
    name: "group-commit",
    type: boolean,
    default: true,
    description: "Write the leases of the requests a worker handles together (one receive " +
      "batch) in one transaction, committed before any of their replies is sent: far fewer " +
      "disk writes under load. `no` commits every request on its own.",
    example: "no",
  }],
  // Writable for the server's `user`: checked with the top level (checkPools), which knows it.
});

/** Values of `<lease-store-postgresql URL>`. */
export interface LeaseStorePostgresqlValues extends ConnectionValues {
  /** Seconds between runs of the reclaim of expired leases. */
  reclaimInterval: number;
}

/** `<lease-store-postgresql URL>` top-level section. */
export const leaseStorePostgresqlSection = defineSection<LeaseStorePostgresqlValues>({
  type: "lease-store-postgresql",
  kind: "lease-store",
  description: "Keeps the leases of every `<address-pool>` and `<prefix-pool>` in a PostgreSQL " +
    "database named by the section, so that several servers share the pools: configure the " +
    "same pools and the same database on each. An address or prefix is never bound to two " +
    "clients: the table's unique constraints refuse the second, and the server that lost the " +
    "race takes the next free one; a client two servers commit at the same moment (a Rebind " +
    "both hear, say) gets one, as the second server waits for the first. A request's leases " +
    "are committed before its reply is sent; " +
    "the requests a worker handles together share one call of a function in the database (one " +
    "round trip and one commit). The server creates (or upgrades) its table `pool_leases` and " +
    "the functions `dhcpkit_pool_apply` and `dhcpkit_ipv6_text` at start-up, so its user needs " +
    "the right to create them the first time (the owner of the database has it). While the " +
    "database cannot be reached, requests that need a lease get no answer (the clients retry).",
  example: [
    "<lease-store-postgresql postgresql://dhcpkit@/dhcp?host=/run/postgresql>",
    "    password-file /etc/dhcpkit/postgresql.password",
    "</lease-store-postgresql>",
  ].join("\n"),
  name: postgresqlName,
  keys: [...connectionKeys, reclaimIntervalKey],
});

/** A folder: absolute, or relative to the configuration file's folder. */
const folder = dataType("folder", (t, ctx) => {
  if (t === "") throw new ConfigValueError("expected a folder");
  return isAbsolute(t) ? t : resolve(ctx.configDir, t);
}, "a folder, relative to the configuration file's folder");

/** The top-level keys the pools extension adds. */
export const stateDirectoryKey: KeySpec = {
  name: "state-directory",
  type: folder,
  default: DEFAULT_STATE_DIRECTORY,
  description: "Folder for state the server keeps between runs. The dynamic pools keep their " +
    "leases in `leases.sqlite` here when no lease store section is configured (the server " +
    "says so when it starts). It must be writable by the server's `user`.",
  example: "/var/lib/dhcpkit",
};

/** A pool section found in the tree, with the subnets around it. */
interface FoundPool {
  section: ConfigSection<PoolValues>;
  /** The prefixes of each enclosing `<subnet>` / `<subnet-group>` (innermost last). */
  subnets: IPv6Prefix[][];
}

function findPools(
  sections: readonly ConfigSection[],
  subnets: IPv6Prefix[][],
  out: FoundPool[],
): FoundPool[] {
  for (const s of sections) {
    if (isSectionOf(s, addressPoolSection) || isSectionOf(s, prefixPoolSection)) {
      out.push({ section: s, subnets });
    } else if (s.kind === "filter") {
      let inner = subnets;
      if (s.type === "subnet" && s.values.prefix) inner = [...subnets, [s.values.prefix]];
      if (s.type === "subnet-group" && s.values.match === "inside" && s.values.prefixes) {
        inner = [...subnets, s.values.prefixes];
      }
      findPools(s.children, inner, out);
    }
  }
  return out;
}

/** The pool sections of a configuration, in file order. */
export function poolSections(root: ConfigSection): ConfigSection<PoolValues>[] {
  return findPools(root.children, [], []).map((p) => p.section);
}

/**
 * The checks across the configuration, added to the top level: pools must not overlap, and an
 * address pool inside a `<subnet>` (or `<subnet-group>`) must lie inside it; without a lease
 * store section the default one must be writable (host check).
 */
export function checkPools(root: ConfigSection, check: SectionChecker): void {
  const pools = findPools(root.children, [], []);
  for (let i = 0; i < pools.length; i++) {
    const a = pools[i].section;
    if (!a.values.prefix) continue;
    for (let j = 0; j < i; j++) {
      const b = pools[j].section;
      if (b.values.prefix && a.values.prefix.overlaps(b.values.prefix)) {
        check.error(
          `<${a.type} ${a.values.prefix.text}> overlaps <${b.type} ${b.values.prefix.text}> ` +
            `at ${b.file}:${b.line}`,
          a.line,
        );
      }
    }
    if (a.type !== "address-pool") continue;
    for (const group of pools[i].subnets) {
      if (!group.some((s) => s.containsPrefix(a.values.prefix))) {
        check.error(
          `<address-pool ${a.values.prefix.text}> is not inside its subnet ` +
            group.map((s) => s.text).join(" or "),
          a.line,
        );
      }
    }
  }
  const stores = root.children.filter((c) => c.kind === "lease-store");
  if (!check.hostChecks) return;
  const account = serviceAccount(root);
  for (const store of stores) {
    if (store.type !== leaseStoreSqliteSection.type) continue;
    const reason = unwritableReason((store.values as LeaseStoreSqliteValues).path, account);
    if (reason) check.hostError(`lease store: ${reason}`, store.line);
  }
  if (pools.length > 0 && stores.length === 0) {
    const dir = (root.values as { stateDirectory?: string }).stateDirectory ??
      DEFAULT_STATE_DIRECTORY;
    const reason = unwritableReason(join(dir, DEFAULT_LEASE_FILE), account);
    if (reason) {
      check.hostError(
        `pools need a lease store: no <lease-store-*> is configured and the default ` +
          `${reason}`,
        pools[0].section.line,
      );
    }
  }
}
