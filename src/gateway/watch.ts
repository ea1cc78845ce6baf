// Watching the policy files for changes. Folders are watched, not files: an editor that saves by
// writing a new file and renaming it over the old one, and the kubelet, which updates a mounted
// ConfigMap by switching the `..data` symbolic link to a new folder, both replace the file rather
// than change it, and a watch on the file itself would go on watching the old one. Events are
// debounced, so the several writes of one change cause one reload.
import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface PolicyWatchOptions {
  /** Quiet time after the last event before `onChange` is called, ms. */
  readonly debounceMs: number;
  /** Called once per burst of changes. */
  readonly onChange: () => void;
  /** Told when a folder cannot be watched (it is tried again at the next `watch`). */
  readonly onError?: (folder: string, err: unknown) => void;
}

export interface PolicyWatch {
  /** Watches the folders of these files, from now on in place of the previous set. */
  watch(files: Iterable<string>): void;
  close(): void;
}

interface Watched {
  readonly watcher: FSWatcher;
  /**
   * The folder's real path and inode when the watch began: a switched symbolic link, or a folder
   * deleted and made again at the same path, is another folder and needs a new watch.
   */
  readonly identity: string | undefined;
  /** Names in the folder whose changes count. */
  readonly names: Set<string>;
  failed: boolean;
}

function realPath(folder: string): string | undefined {
  try {
    return realpathSync(folder);
  } catch {
    return undefined;
  }
}

/** The folder's real path and inode, or undefined when it does not exist. */
function folderIdentity(folder: string): string | undefined {
  const real = realPath(folder);
  if (real === undefined) return undefined;
  try {
    const stats = statSync(real);
    return `${stats.dev}:${stats.ino}:${real}`;
  } catch {
    return undefined;
  }
}

/**
 * Where to watch for a change to `path`: its folder, or while that folder does not exist (deleted,
 * to be made again), the nearest ancestor that does, for the name of the first missing folder, so
 * that making it again is a change that reloads (and the reload watches the folder itself again).
 */
function watchPoint(path: string): { readonly folder: string; readonly name: string } {
  let folder = dirname(path);
  let name = basename(path);
  while (realPath(folder) === undefined && dirname(folder) !== folder) {
    name = basename(folder);
    folder = dirname(folder);
  }
  return { folder, name };
}

/**
 * A change to one of `names`, or to a kubelet entry (`..data`, `..data_tmp`, `..<timestamp>`),
 * counts; anything else in the folder (state files, logs) does not. An event without a name counts.
 */
function relevant(names: ReadonlySet<string>, name: string | Buffer | null): boolean {
  if (name === null) return true;
  const text = name.toString();
  return names.has(text) || text.startsWith('..');
}

/** Creates a watch over policy folders; nothing is watched until `watch` is called. */
export function createPolicyWatch(o: PolicyWatchOptions): PolicyWatch {
  if (!(o.debounceMs >= 0)) throw new TypeError('debounceMs must be a number of ms');
  const folders = new Map<string, Watched>();
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) o.onChange();
    }, o.debounceMs);
    timer.unref();
  };

  const start = (folder: string, names: Set<string>): void => {
    const identity = folderIdentity(folder);
    const own = basename(folder);
    let watcher: FSWatcher;
    try {
      watcher = watch(folder, { persistent: false }, (_event, name) => {
        // An event that names the folder itself: it was deleted or moved away, and its watch ends
        // without an error. Marked, so the next load watches whatever folder has the path by then
        // (its inode may be the old one's, reused), not this ended watch.
        if (name !== null && name.toString() === own) entry.failed = true;
        if (entry.failed || relevant(entry.names, name)) schedule();
      });
    } catch (err) {
      o.onError?.(folder, err);
      return;
    }
    const entry: Watched = { watcher, identity, names, failed: false };
    watcher.on('error', (err) => {
      // The folder went away (a removed ConfigMap version): the next load watches it again.
      entry.failed = true;
      o.onError?.(folder, err);
      schedule();
    });
    folders.set(folder, entry);
  };

  return {
    watch(files) {
      if (closed) return;
      const wanted = new Map<string, Set<string>>();
      for (const file of files) {
        const { folder, name } = watchPoint(resolve(file));
        const names = wanted.get(folder) ?? new Set<string>();
        names.add(name);
        wanted.set(folder, names);
      }
      for (const [folder, entry] of folders) {
        const names = wanted.get(folder);
        if (names && !entry.failed && entry.identity !== undefined && entry.identity === folderIdentity(folder)) {
          entry.names.clear();
          for (const name of names) entry.names.add(name);
          wanted.delete(folder);
          continue;
        }
        entry.watcher.close();
        folders.delete(folder);
      }
      for (const [folder, names] of wanted) start(folder, names);
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const entry of folders.values()) entry.watcher.close();
      folders.clear();
    },
  };
}
