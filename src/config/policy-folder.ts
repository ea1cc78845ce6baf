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
  if (!existsSync(config)) return fallback;
  const parsed = parseYamlText(readTextFileSync(config), config);
  if (!parsed.ok) return fallback;
  const policies = (parsed.value as { policies?: { directory?: unknown; routes?: unknown } } | null)?.policies;
  const at = (p: unknown, dflt: string): string => (typeof p === 'string' ? resolve(dirname(config), p) : dflt);
  return { directory: at(policies?.directory, fallback.directory), routes: at(policies?.routes, fallback.routes) };
}
