// Reading the route map from disk: YAML (or JSON) text → validated spec → compiled tries.
import { readFile } from 'node:fs/promises';
import { parseYamlText } from '../../config/yaml.js';
import type { Finding } from '../../policy/types.js';
import { compileRouteMap, type CompiledRouteMap } from './match.js';
import { parseRouteMap } from './spec.js';

export interface RouteMapLoad {
  /** Undefined when any finding is an error. */
  readonly routes: CompiledRouteMap | undefined;
  readonly findings: readonly Finding[];
}

/** Parses route-map text (YAML, of which JSON is a subset), reporting syntax errors as findings. */
export function parseRouteMapText(text: string, file?: string): RouteMapLoad {
  const doc = parseYamlText(text, 'ROUTES_SYNTAX', file);
  if (!doc.ok) return { routes: undefined, findings: doc.findings };
  const { spec, findings } = parseRouteMap(doc.value, file);
  return { routes: spec ? compileRouteMap(spec) : undefined, findings };
}

/** Loads and compiles a route-map file; a missing or unreadable file is a finding, not an exception. */
export async function loadRouteMap(file: string): Promise<RouteMapLoad> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const message = `cannot read route map: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
    return { routes: undefined, findings: [{ severity: 'error', code: 'ROUTES_UNREADABLE', path: '', message, file }] };
  }
  return parseRouteMapText(text, file);
}
