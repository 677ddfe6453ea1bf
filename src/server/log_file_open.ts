/**
 * Opening log files safely when the server started as root (issue 20): a log file is never
 * opened through a symbolic link, and root is only used for it in a folder the service user
 * cannot write (nor replace through a writable parent). In a folder the service user can write,
 * the file is opened, created and rotated as the service user (before the drop too, through a
 * per-thread switch, see privileges.ts), so a link planted there reaches
 * nothing the service user could not write anyway; in a root-only folder the file is opened as
 * root and a new one is handed to the service user (only the PID file and the control socket
 * stay root's).
 *
 * Deno cannot pass `O_NOFOLLOW`, so the path is checked with `lstat` before the open and again
 * after it, against `fstat` of the open file: a link, or a file swapped in between, is refused
 * and closed unused.
 * @module
 */

import { dirname, resolve } from "node:path";
import { asServiceUserSync, serviceAccount, withRootSync } from "./privileges.ts";

/** Who the service runs as. */
interface Account {
  uid: number;
  gid: number;
}

const S_ISVTX = 0o1000;

/** Whether `info` (a folder) lets `who` create or rename entries in it. */
function writableBy(info: Deno.FileInfo, who: Account): boolean {
  const mode = info.mode ?? 0;
  if (info.uid === who.uid) return (mode & 0o200) !== 0;
  if (info.gid === who.gid) return (mode & 0o020) !== 0;
  return (mode & 0o002) !== 0;
}

/** `read()`, or undefined when Deno's read permission does not reach that far. */
function readable<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      return undefined;
    }
    throw e;
  }
}

/**
 * Whether `who` can change what `folder` holds: write in it, or replace it or one of its
 * parents through a writable parent (a sticky parent protects the entries `who` does not own).
 * Parents outside Deno's read permission are not looked at.
 */
export function serviceCanWrite(folder: string, who: Account): boolean {
  let path = readable(() => Deno.realPathSync(folder)) ?? resolve(folder);
  let info = Deno.statSync(path);
  if (writableBy(info, who)) return true;
  while (path !== "/") {
    const parent = dirname(path);
    // A parent Deno's read permission does not reach (an executable scoped to its folders) is
    // trusted: the permission scope names the folders, not their parents.
    const parentInfo = readable(() => Deno.statSync(parent));
    if (!parentInfo) return false;
    if (writableBy(parentInfo, who)) {
      const sticky = ((parentInfo.mode ?? 0) & S_ISVTX) !== 0;
      if (!sticky || info.uid === who.uid) return true;
    }
    path = parent;
    info = parentInfo;
  }
  return false;
}

/**
 * Whether a log file at `path` is opened (and rotated) as root: only when the server dropped
 * root and the service user cannot write the file's folder.
 */
export function logFileNeedsRoot(path: string): boolean {
  const who = serviceAccount();
  if (!who) return false;
  // Reading metadata as root: the folder may be root-only.
  return withRootSync(() => !serviceCanWrite(dirname(resolve(path)), who));
}

/**
 * Run the synchronous `action` on the log file at `path` as root when it needs it, else as the
 * service user (also before the server dropped root).
 */
export function asLogFileOwner<T>(path: string, action: () => T): T {
  return logFileNeedsRoot(path) ? withRootSync(action) : asServiceUserSync(action);
}

/**
 * Open (create) the log file at `path` for appending, never through a symbolic link, as root
 * only when {@link logFileNeedsRoot}; a file created as root goes to the service user. Throws
 * with a message naming the path.
 */
export function openLogFile(path: string): Deno.FsFile {
  if (logFileNeedsRoot(path)) return withRootSync(() => openNoFollow(path, serviceAccount()));
  return asServiceUserSync(() => openNoFollow(path));
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Open `path` for appending unless it is (or becomes) a link; a new file goes to `owner`. */
function openNoFollow(path: string, owner?: Account): Deno.FsFile {
  const before = lstat(path);
  if (before?.isSymlink) {
    throw new Error(`${path} is a symbolic link: log files are not opened through links`);
  }
  const file = Deno.openSync(path, { append: true, create: true });
  try {
    const opened = file.statSync();
    const now = lstat(path);
    if (
      !now || now.isSymlink || now.ino !== opened.ino || now.dev !== opened.dev ||
      (before !== undefined && before.ino !== opened.ino)
    ) {
      throw new Error(`${path} was replaced while it was opened: not writing to it`);
    }
    if (!before && owner) Deno.chownSync(path, owner.uid, owner.gid);
    return file;
  } catch (e) {
    file.close();
    throw e;
  }
}
