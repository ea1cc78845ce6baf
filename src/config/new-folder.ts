// Creates a folder and its missing parents without Node's `recursive` flag. Node's recursive mkdir
// never returns where a parent exists but refuses new entries with ENOENT (under /proc, /sys): it
// retries that parent forever, so a start given such a path hangs instead of failing. Here each
// level is created at most twice (once before its parents, once after), so any failure is thrown.
import { mkdirSync, statSync, type Stats } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A folder that cannot be made: the folder, and the system's reason. */
export class FolderError extends Error {
  constructor(
    readonly folder: string,
    /** The system's error code (ENOENT, EACCES, ENOTDIR, ...), as `code` of Node's own errors. */
    readonly code: string,
    readonly detail?: string,
    options?: ErrorOptions,
  ) {
    super(`folder ${folder} cannot be created (${code}${detail === undefined ? '' : `: ${detail}`})`, options);
    this.name = 'FolderError';
  }
}

function failure(path: string, err: unknown): FolderError {
  return new FolderError(path, (err as NodeJS.ErrnoException).code ?? 'EIO', String(err), { cause: err });
}

/** What one mkdir's failure means: its parent is missing, or the path exists (to be checked); anything else is thrown. */
function missingParent(path: string, err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return true;
  if (code === 'EEXIST') return false;
  throw failure(path, err);
}

/** Throws unless what exists at `path` is a folder. */
function mustBeFolder(path: string, found: Stats): void {
  if (!found.isDirectory()) throw new FolderError(path, 'ENOTDIR', 'a file of that name is there');
}

function noParent(path: string): FolderError {
  return new FolderError(path, 'ENOENT', 'its parent refuses new entries');
}

/** Makes `path` (mode `mode` for each folder created) and its missing parents; throws FolderError when one cannot be. */
export async function makeFolder(path: string, mode = 0o777): Promise<void> {
  const attempt = async (): Promise<boolean> => {
    try {
      await mkdir(path, { mode });
      return true;
    } catch (err) {
      if (missingParent(path, err)) return false;
      mustBeFolder(path, await stat(path).catch((e: unknown) => Promise.reject(failure(path, e))));
      return true;
    }
  };
  if (await attempt()) return;
  const parent = dirname(path);
  if (parent === path) throw noParent(path);
  await makeFolder(parent, mode);
  if (!(await attempt())) throw noParent(path);
}

/** makeFolder for the few places that must stay synchronous (a sink opened or reopened in one step). */
export function makeFolderSync(path: string, mode = 0o777): void {
  const attempt = (): boolean => {
    try {
      mkdirSync(path, { mode });
      return true;
    } catch (err) {
      if (missingParent(path, err)) return false;
      let found: Stats;
      try {
        found = statSync(path);
      } catch (e) {
        throw failure(path, e);
      }
      mustBeFolder(path, found);
      return true;
    }
  };
  if (attempt()) return;
  const parent = dirname(path);
  if (parent === path) throw noParent(path);
  makeFolderSync(parent, mode);
  if (!attempt()) throw noParent(path);
}
