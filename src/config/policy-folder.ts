// Where a policy folder keeps its directory and route map, read from the folder's own iamgate.yaml:
// the policy loader finds a shadow folder's directory with it, and the policy tests, diff and
// replay a whole folder's.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { readTextFileSync } from './text-file.js';
import { parseYamlText } from './yaml.js';

export interface PolicyFilePaths {
  readonly directory: string;
  readonly routes: string;
}

const CONFIG_FILE = 'iamgate.yaml';

/**
 * Where a policy folder keeps its directory and route map: as its iamgate.yaml says (paths
 * relative to it), or else directory.yaml and routes.yaml beside each other.
 */
export function locatePolicyFiles(dir: string): PolicyFilePaths {
  const base = resolve(dir);
  const fallback = { directory: join(base, 'directory.yaml'), routes: join(base, 'routes.yaml') };
  const config = join(base, CONFIG_FILE);
  const policies = (folderConfig(dir) as { policies?: { directory?: unknown; routes?: unknown } } | undefined)?.policies;
  const at = (p: unknown, dflt: string): string => (typeof p === 'string' ? resolve(dirname(config), p) : dflt);
  return { directory: at(policies?.directory, fallback.directory), routes: at(policies?.routes, fallback.routes) };
}

/** A policy folder's iamgate.yaml as parsed YAML, or undefined when it has none that parses. */
function folderConfig(dir: string): unknown {
  const config = join(resolve(dir), CONFIG_FILE);
  if (!existsSync(config)) return undefined;
  const parsed = parseYamlText(readTextFileSync(config), config);
  return parsed.ok ? (parsed.value ?? undefined) : undefined;
}

/** How the gateway a policy folder configures treats request paths: its iamgate.yaml's `paths` and `limits.maxTargetLength`. */
export interface FolderPathOptions {
  readonly maxTargetLength?: number;
  readonly allowSemicolon?: boolean;
  readonly allowTrailingDot?: boolean;
  readonly allowDoubleEncoding?: boolean;
  readonly refuseNonNfkc?: boolean;
}

const PATH_OPTIONS = ['allowSemicolon', 'allowTrailingDot', 'allowDoubleEncoding', 'refuseNonNfkc'] as const;

/**
 * The path options a policy folder's iamgate.yaml sets (those it leaves out keep the gateway's
 * defaults): offline decisions about a request path must refuse, and accept, the paths the gateway
 * serving that file would. A value of the wrong type is left out: `iamgate validate` reports it.
 */
export function folderPathOptions(dir: string): FolderPathOptions {
  const doc = folderConfig(dir) as { paths?: Record<string, unknown>; limits?: Record<string, unknown> } | undefined;
  const options: { -readonly [K in keyof FolderPathOptions]: FolderPathOptions[K] } = {};
  const max = doc?.limits?.['maxTargetLength'];
  if (typeof max === 'number' && Number.isInteger(max)) options.maxTargetLength = max;
  for (const name of PATH_OPTIONS) {
    const value = doc?.paths?.[name];
    if (typeof value === 'boolean') options[name] = value;
  }
  return options;
}
