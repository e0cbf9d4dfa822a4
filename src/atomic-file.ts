// Writing a file the user keeps (their .env) so that no moment of a crash leaves it half-written,
// no crash leaves debris beside it for long, and a refusal by the file system is one clear line.
//
// The write is the usual temporary file + fsync + rename. It is ours rather than
// write-file-atomic's because that library names its temporary files <name>.<number>, which
// cannot be told from a user's own backup (.env.1764680000); ours carry our name and the
// writer's pid, so a later write can remove exactly those whose writer is gone.

import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { UserInputError } from "./errors.js";

const TEMP_TAG = "paratune-tmp";

function tempName(path: string): string {
  return `${path}.${TEMP_TAG}-${process.pid}-${randomBytes(4).toString("hex")}`;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes temporary files of ours beside `path` whose writer is no longer running (killed with
 * -9, or the machine lost power). Returns the names removed.
 */
export function removeStaleTemps(path: string): string[] {
  const dir = dirname(path);
  const pattern = new RegExp(`^${basename(path).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.${TEMP_TAG}-(\\d+)-[0-9a-f]+$`);
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m || isAlive(Number(m[1]))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
  return removed;
}

/**
 * The one line for an error the file system gave while writing `what` at `path`, or the error
 * itself when it is not one a user can fix.
 */
export function fileSystemError(err: unknown, path: string, what: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = resolve(path);
  switch (code) {
    case "EROFS":
      return new UserInputError(`cannot write ${what} ${where}: the file system is read-only`, "give a path on a writable file system");
    case "EISDIR":
      return new UserInputError(`cannot write ${what} ${where}: it is a directory`, `give a file path, e.g. ${join(where, ".env")}`);
    case "ENOTDIR":
      return new UserInputError(`cannot write ${what} ${where}: part of the path is a file, not a folder`, "check the path");
    case "EACCES":
    case "EPERM":
      return new UserInputError(`cannot write ${what} ${where}: permission denied`, "give a path you can write to, or fix its permissions");
    case "ENOSPC":
    case "EDQUOT":
      return new UserInputError(`cannot write ${what} ${where}: no space left on the device`, "free some space, or write elsewhere");
    default:
      return err;
  }
}

/**
 * Creates a folder and its parents. Node reports a parent it could not create on a read-only
 * file system as ENOENT; the folder is created one level at a time instead, so the error says why.
 */
export function makeFolder(path: string, what: string): void {
  const target = resolve(path);
  try {
    mkdirSync(target, { recursive: true });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fileSystemError(err, target, what);
  }
  const missing: string[] = [];
  for (let p = target; !exists(p); p = dirname(p)) missing.unshift(p);
  for (const p of missing) {
    try {
      mkdirSync(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw fileSystemError(err, p, what);
    }
  }
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return p === dirname(p);
  }
}

/** Replaces the file at `path` with `data` in one rename, keeping its permissions. */
export function writeFileAtomically(path: string, data: string, what = "file"): void {
  makeFolder(dirname(path), `the folder of ${what}`);
  let mode = 0o666;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error("is a directory"), { code: "EISDIR" });
    mode = st.mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw fileSystemError(err, path, what);
  }
  removeStaleTemps(path);
  const temp = tempName(path);
  let fd: number | null = null;
  try {
    fd = openSync(temp, "wx", mode);
    writeSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(temp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(temp);
    } catch {
      // Never created, or already renamed.
    }
    throw fileSystemError(err, path, what);
  }
}
