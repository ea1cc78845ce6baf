// Reading the route map from disk: YAML (or JSON) text → validated spec → compiled tries.
import { createHash } from 'node:crypto';
import { finding } from '../../config/findings.js';
import { fileErrorReason, readTextFile } from '../../config/index.js';
import { parseYamlText } from '../../config/yaml.js';
import type { Finding } from '../../policy/index.js';
import { compileRouteMap, type CompiledRouteMap } from './match.js';
import { parseRouteMap } from './spec.js';

export interface RouteMapLoad {
  /** Undefined when any finding is an error. */
  readonly routes: CompiledRouteMap | undefined;
  readonly findings: readonly Finding[];
  /** SHA-256 of the file's text: changes whenever the route map changes. */
  readonly digest: string;
}

/** Parses route-map text (YAML, of which JSON is a subset), reporting syntax errors as findings. */
export function parseRouteMapText(text: string, file?: string): RouteMapLoad {
  const doc = parseYamlText(text, file);
  const digest = createHash('sha256').update(text).digest('hex');
  if (!doc.ok) return { routes: undefined, findings: doc.findings, digest };
  const { spec, findings } = parseRouteMap(doc.value, file);
  return { routes: spec ? compileRouteMap(spec) : undefined, findings, digest };
}

/** Loads and compiles a route-map file; a missing or unreadable file is a finding, not an exception. */
export async function loadRouteMap(file: string): Promise<RouteMapLoad> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    const message = `cannot read route map: ${fileErrorReason(err)}`;
    return { routes: undefined, findings: [finding('FILE_UNREADABLE', '', message, file)], digest: '' };
  }
  return parseRouteMapText(text, file);
}
