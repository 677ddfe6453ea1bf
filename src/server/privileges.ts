/**
 * Giving up root after the sockets are bound, and taking it back briefly when the server must
 * act as root again (re-reading a root-only configuration, binding port 547 or a control socket
 * on reload, opening and rotating log files in root-owned folders, writing and removing its PID
 * file and control socket).
 *
 * Like the original DHCPKit, only the effective user and group change: the saved user stays
 * root so it can be regained. glibc applies `seteuid`/`setegid` to every thread of the process,
 * so while the main thread is root the worker threads are root too. Root is therefore only ever
 * taken back with {@link withRootSync} around synchronous steps: no promise is awaited, no timer
 * or I/O callback runs and no other main-thread code is scheduled while the server is root.
 * There is deliberately no asynchronous variant.
 *
 * When started as root the server sets the umask to {@link SERVICE_UMASK} (0077), so what it and
 * its handlers create afterwards (databases, log files) is private to the service user; the PID
 * file (0644) and the control socket (0660) get their modes explicitly.
 *
 * Supplementary groups: Deno's `node:process` cannot clear them, so when the `--allow-ffi`
 * permission is granted (the shipped executable has it; the ffi I/O backend needs it anyway) the
 * list is replaced by the service group alone through libc's `setgroups(2)`. Without it the
 * process keeps the groups it was started with, and {@link supplementaryGroupsWarning} tells the
 * operator at start-up when groups other than the service group are present. systemd starts
 * root services (no `User=`) with the empty supplementary group list of PID 1; from a shell,
 * `setpriv --clear-groups dhcpkit serve ...` starts it without them. Under systemd the capability
 * bounding set also limits what regained root can do (see systemd/dhcpkit.service).
 * @module
 */

import process from "node:process";
import { groupLabel, lookupGroup, lookupUser } from "../config/accounts.ts";
import { libc, setGroups } from "./io/libc.ts";

// Read by the configuration layer's accounts.ts; re-exported for the server modules.
export { lookupGroup, lookupUser };

/** The umask of a server started as root: what it creates is private to the service user. */
export const SERVICE_UMASK = 0o077;

/** The identity the server runs as after start-up, when it started as root. */
let dropped: { uid: number; gid: number } | undefined;
/** How many {@link withRootSync} calls are running (nested) right now. */
let depth = 0;

/** Use {@link SERVICE_UMASK} from now on; returns the previous umask. */
export function restrictUmask(): number {
  return Deno.umask(SERVICE_UMASK);
}

/**
 * Switch the effective user and group to `user` / `group` when running as root, and set the
 * umask to {@link SERVICE_UMASK}. Returns a message describing what happened, or throws when the
 * user or group does not exist.
 */
export function dropPrivileges(user: string, group?: string): string {
  if (Deno.uid() !== 0 && dropped === undefined) {
    return `not running as root; staying uid ${Deno.uid()}`;
  }
  if (depth > 0) throw new Error("cannot change the service user while acting as root");
  const account = lookupUser(user);
  if (!account) throw new Error(`user ${user} does not exist`);
  const gid = group === undefined ? account.gid : lookupGroup(group);
  if (gid === undefined) throw new Error(`group ${group} does not exist`);
  if (dropped) restoreRoot();
  restrictUmask();
  if (canSetGroups()) {
    try {
      setGroups([gid]);
    } catch {
      // Not allowed here (e.g. a user namespace that denies setgroups): the groups stay, and
      // the start-up warning (supplementaryGroupsWarning) says so.
    }
  }
  process.setegid!(gid);
  process.seteuid!(account.uid);
  dropped = { uid: account.uid, gid };
  return `now running as uid ${account.uid}, gid ${gid}`;
}

/** Whether setgroups(2) can be called: Linux with the `--allow-ffi` permission and glibc. */
function canSetGroups(): boolean {
  if (Deno.build.os !== "linux") return false;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  try {
    libc();
    return true;
  } catch {
    return false; // no glibc here: the start-up warning covers the groups
  }
}

/** The service user and group after {@link dropPrivileges}, undefined before (or as non-root). */
export function droppedTo(): { uid: number; gid: number } | undefined {
  return dropped && { ...dropped };
}

/** True while a {@link withRootSync} action runs with root regained. */
export function actingAsRoot(): boolean {
  return dropped !== undefined && depth > 0;
}

function restoreRoot(): void {
  try {
    process.seteuid!(0);
    process.setegid!(0);
  } catch (e) {
    redrop(); // never stay half-way
    throw e;
  }
}

function redrop(): void {
  if (!dropped) return;
  process.setegid!(dropped.gid);
  process.seteuid!(dropped.uid);
}

/**
 * Run the synchronous `action` as root when the server started as root and dropped privileges;
 * otherwise just run it. Privileges are given up again when the outermost call returns, also
 * when `action` fails; nested calls (a log rotation inside another root-only step) keep root
 * until then. `action` must not return a promise: the whole process (workers included) would
 * otherwise be root while it is pending, so that is refused.
 */
export function withRootSync<T>(action: () => T): T {
  if (!dropped) return notAsync(action());
  if (depth === 0) restoreRoot();
  depth++;
  try {
    return notAsync(action());
  } finally {
    depth--;
    if (depth === 0) redrop();
  }
}

function notAsync<T>(result: T): T {
  if (typeof (result as { then?: unknown } | null)?.then === "function") {
    throw new TypeError("withRootSync: the action must be synchronous (it returned a promise)");
  }
  return result;
}

/**
 * The supplementary group ids of this process: from getgroups(2) (`node:process`, needs only
 * `--allow-sys`), or parsed from `text` in the format of `/proc/self/status`.
 */
export function supplementaryGroups(text?: string): number[] | undefined {
  let status = text;
  if (status === undefined) {
    try {
      return process.getgroups!();
    } catch {
      // not available here or no permission: try /proc (readable with --allow-all only)
    }
    try {
      status = Deno.readTextFileSync("/proc/self/status");
    } catch {
      return undefined; // not Linux, or no permission: nothing to say
    }
  }
  const line = status.split("\n").find((l) => l.startsWith("Groups:"));
  if (line === undefined) return undefined;
  return line.slice("Groups:".length).trim().split(/\s+/).filter((s) => s !== "").map(Number);
}

/**
 * A warning when the process has supplementary groups other than `gid` (the service group),
 * which it keeps after dropping privileges (see the module documentation); undefined when there
 * are none.
 */
export function supplementaryGroupsWarning(gid: number, groups = supplementaryGroups()):
  | string
  | undefined {
  const extra = (groups ?? []).filter((g) => g !== gid);
  if (extra.length === 0) return undefined;
  return `the process keeps the supplementary groups ${
    extra.map((g) => groupLabel(g)).join(", ")
  } it was started with, so files of those groups stay accessible after dropping root ` +
    "(clearing them needs setgroups, which dhcpkit calls only when run with --allow-ffi); start " +
    "it with --allow-ffi or without supplementary groups: systemd does so for the shipped unit, " +
    "from a shell use " +
    "`setpriv --clear-groups dhcpkit serve ...`";
}
