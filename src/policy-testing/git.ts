// A policy folder as it was at a git revision: checked out by git alone (a private index, never
// the repository's own) into a temporary folder, so the diff reads it with the same loader as a
// folder on disk, on a machine that has git but no tar.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs git, its failure told as `reason`: git's own message names the command it ran, not the mistake. */
async function git(revision: string, args: readonly string[], reason: string, env?: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await run('git', args, env === undefined ? {} : { env })).stdout;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(missing ? `${revision}: not a folder, and git, which would read it as a revision, is not on PATH` : reason, { cause: err });
  }
}

export interface Checkout {
  /** The policy folder inside the extracted tree. */
  readonly dir: string;
  readonly remove: () => Promise<void>;
}

/**
 * Extracts `folder` (a path inside a git work tree) as it is at `revision`. `revision` may also
 * name the folder itself (`main:policies`), relative to the repository's root.
 */
export async function checkoutRevision(revision: string, folder: string): Promise<Checkout> {
  const base = resolve(folder);
  const top = (await git(revision, ['-C', base, 'rev-parse', '--show-toplevel'], `${revision}: not a folder, nor a git revision: ${folder} is not in a git repository`)).trim();
  const colon = revision.indexOf(':');
  const rev = colon < 0 ? revision : revision.slice(0, colon);
  const path = colon < 0 ? relative(top, base) : revision.slice(colon + 1).replace(/^\/+|\/+$/g, '');
  await git(revision, ['-C', top, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`], `${revision}: not a folder, nor a commit of the git repository at ${top}`);
  const out = await mkdtemp(join(tmpdir(), 'iamgate-rev-'));
  const remove = (): Promise<void> => rm(out, { recursive: true, force: true });
  const tree = join(out, 'tree');
  try {
    const env = { ...process.env, GIT_INDEX_FILE: join(out, 'index') };
    await git(revision, ['-C', top, 'read-tree', `${rev}:${path}`], `${revision}: ${path || '.'} is not in the repository at ${rev}`, env);
    await git(revision, ['-C', top, 'checkout-index', '--all', `--prefix=${join(tree, path)}/`], `${revision}: git could not write ${path || '.'} at ${rev} to ${tree}`, env);
  } catch (err) {
    await remove();
    throw err;
  }
  return { dir: join(tree, path), remove };
}
