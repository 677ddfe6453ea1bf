/**
 * Giving up root after the sockets are bound, and taking it back briefly, on the main thread
 * only, when the server must act as root again (re-reading a root-only configuration, binding
 * port 547 or a control socket on reload, writing and removing its PID file and control socket).
 *
 * No request is ever handled as root. The kernel keeps user and group ids per thread; glibc's
 * `setresuid`/`setresgid` copy them to every thread, the raw system calls do not. So, with the
 * `--allow-ffi` permission on Linux (the shipped executable and `deno task start` have it),
 * {@link dropPrivileges} sets the real and effective ids of every thread to the service user and
 * group and keeps root only as the saved user; {@link withRootSync} then makes the *calling
 * thread* (the main thread) root for a synchronous step and gives it up again, while the worker
 * threads that handle requests stay the service user throughout. Workers are never started from
 * inside such a step (a new thread inherits its creator's ids), which {@link assertNotRoot}
 * checks. Root steps stay synchronous: no promise is awaited, no timer or I/O callback runs on the
 * main thread while it is root, and there is deliberately no asynchronous variant.
 *
 * Without `--allow-ffi` (or off Linux/glibc) there is no per-thread switch: root is then given up
 * for good (real, effective and saved ids), and {@link withRootSync} runs its step as the service
 * user, so steps that need root after start-up (a new port below 1024 on reload, files in
 * root-only folders) fail with a clear error instead of exposing the workers.
 *
 * When started as root the server sets the umask to {@link SERVICE_UMASK} (0077), so what it and
 * its handlers create afterwards (databases, log files) is private to the service user; the PID
 * file (0644) and the control socket (0660) get their modes explicitly.
 *
 * Supplementary groups: with `--allow-ffi` the list is replaced by the service group alone through
 * libc's `setgroups(2)`. Without it the process keeps the groups it was started with, and
 * {@link supplementaryGroupsWarning} tells the operator at start-up when groups other than the
 * service group are present. systemd starts root services (no `User=`) with the empty
 * supplementary group list of PID 1; from a shell, `setpriv --clear-groups dhcpkit serve ...`
 * starts it without them. Under systemd the capability bounding set also limits what regained
 * root can do (see systemd/dhcpkit.service).
 * @module
 */

import process from "node:process";
import { groupLabel, lookupGroup, lookupUser } from "../config/accounts.ts";
import { libc, setGroups, setProcessIds, setThreadEffectiveIds } from "./io/libc.ts";

// Read by the configuration layer's accounts.ts; re-exported for the server modules.
export { lookupGroup, lookupUser };

/** The umask of a server started as root: what it creates is private to the service user. */
export const SERVICE_UMASK = 0o077;

/**
 * The identity the server runs as after start-up, when it started as root; `perThread` when root
 * can be taken back by the main thread alone (see the module documentation).
 */
let dropped: { uid: number; gid: number; perThread: boolean } | undefined;
/** How many {@link withRootSync} calls are running (nested) right now. */
let depth = 0;
/** The service user a server started as root will drop to (known before it drops). */
let intended: { uid: number; gid: number } | undefined;

/**
 * Remember the account a server started as root will drop to, so that steps before the drop
 * (opening log files) can act as that account; unknown accounts are ignored here (the drop
 * reports them).
 */
export function intendServiceUser(user: string, group?: string): void {
  if (Deno.uid() !== 0 || dropped) return;
  const account = lookupUser(user);
  const gid = group === undefined ? account?.gid : lookupGroup(group);
  intended = account && gid !== undefined ? { uid: account.uid, gid } : undefined;
}

/** The account the server runs as, or will run as once it drops root; undefined when not root. */
export function serviceAccount(): { uid: number; gid: number } | undefined {
  const who = dropped ?? intended;
  return who && { uid: who.uid, gid: who.gid };
}

/**
 * Run the synchronous `action` as the service user on the calling thread when that thread is
 * root right now (before the drop, or inside {@link withRootSync}); otherwise just run it.
 * Without libc (no `--allow-ffi`) there is no per-thread switch and it runs as is.
 */
export function asServiceUserSync<T>(action: () => T): T {
  const who = dropped ?? intended;
  const rootNow = dropped ? dropped.perThread && depth > 0 : who !== undefined;
  if (!who || !rootNow || !canUseLibc()) return notAsync(action());
  setThreadEffectiveIds(who.uid, who.gid);
  try {
    return notAsync(action());
  } finally {
    setThreadEffectiveIds(0, 0);
  }
}

/** Use {@link SERVICE_UMASK} from now on; returns the previous umask. */
export function restrictUmask(): number {
  return Deno.umask(SERVICE_UMASK);
}

/**
 * Switch to `user` / `group` when running as root (once, at start-up, before any worker starts),
 * and set the umask to {@link SERVICE_UMASK}. Returns a message describing what happened, or
 * throws when the user or group does not exist.
 */
export function dropPrivileges(user: string, group?: string): string {
  if (Deno.uid() !== 0 && dropped === undefined) {
    return `not running as root; staying uid ${Deno.uid()}`;
  }
  if (depth > 0) throw new Error("cannot change the service user while acting as root");
  if (dropped) throw new Error("the service user is chosen once, at start-up");
  const account = lookupUser(user);
  if (!account) throw new Error(`user ${user} does not exist`);
  const gid = group === undefined ? account.gid : lookupGroup(group);
  if (gid === undefined) throw new Error(`group ${group} does not exist`);
  restrictUmask();
  if (canUseLibc()) {
    try {
      setGroups([gid]);
    } catch {
      // Not allowed here (e.g. a user namespace that denies setgroups): the groups stay, and
      // the start-up warning (supplementaryGroupsWarning) says so.
    }
    // Every thread becomes the service user; root stays only the saved id (see withRootSync).
    setProcessIds({ uid: account.uid, gid, savedUid: 0, savedGid: 0 });
    dropped = { uid: account.uid, gid, perThread: true };
    return `now running as uid ${account.uid}, gid ${gid}`;
  }
  // No per-thread switch without libc: give root up for good (setgid/setuid as root set the
  // real, effective and saved ids).
  process.setgid!(gid);
  process.setuid!(account.uid);
  dropped = { uid: account.uid, gid, perThread: false };
  return `now running as uid ${account.uid}, gid ${gid} for good (without --allow-ffi root ` +
    "cannot be taken back by the main thread alone, so steps that need root after start-up fail)";
}

/** Whether libc can be called: Linux with the `--allow-ffi` permission and glibc. */
function canUseLibc(): boolean {
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
  return dropped && { uid: dropped.uid, gid: dropped.gid };
}

/** The user and group the process started as (root's when it dropped privileges). */
export function startedAs(): { uid: number; gid: number } {
  return dropped ? { uid: 0, gid: 0 } : { uid: Deno.uid() ?? 0, gid: Deno.gid() ?? 0 };
}

/** True while a {@link withRootSync} action runs with root regained. */
export function actingAsRoot(): boolean {
  return dropped?.perThread === true && depth > 0;
}

/**
 * Throw when the calling thread acts as root right now: what starts a thread (a worker inherits
 * its creator's ids) or handles a request calls this first.
 */
export function assertNotRoot(what: string): void {
  if (actingAsRoot()) throw new Error(`refusing to ${what} while acting as root`);
}

/**
 * Run the synchronous `action` with the main thread as root when the server started as root and
 * dropped privileges (and can take root back, see the module documentation); otherwise just run
 * it. Only the calling thread changes: request-handling workers keep the service user. Root is
 * given up again when the outermost call returns, also when `action` fails; nested calls (a log
 * rotation inside another root-only step) keep root until then. `action` must not return a
 * promise (the step would outlive the switch back), so that is refused.
 */
export function withRootSync<T>(action: () => T): T {
  if (!dropped?.perThread) return notAsync(action());
  const { uid, gid } = dropped;
  if (depth === 0) {
    try {
      setThreadEffectiveIds(0, 0);
    } catch (e) {
      setThreadEffectiveIds(uid, gid); // never stay half-way
      throw e;
    }
  }
  depth++;
  try {
    return notAsync(action());
  } finally {
    depth--;
    if (depth === 0) setThreadEffectiveIds(uid, gid);
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
