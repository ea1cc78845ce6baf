// A policy folder as the gateway sees it, loaded for offline questions (tests, diff, replay,
// shadow): the directory with its policies, a principal resolver, and the compiled route map.
import { fileErrorReason, readTextFile } from '../config/index.js';
import { resolve } from 'node:path';
import { finding } from '../config/findings.js';
import { folderPathOptions, locatePolicyFiles, type PolicyFilePaths } from '../config/index.js';
import { parseYamlText } from '../config/yaml.js';
import { createPrincipalResolver, loadDirectory, type Directory, type PrincipalResolver } from '../identity/index.js';
import { DEFAULT_PATH_RULES, type PathRules } from '../gateway/index.js';
import { compileRouteMap, parseRouteMap, type CompiledRouteMap, type RouteSpec } from '../gateway/routes/index.js';
import type { Finding } from '../policy/index.js';
import { writtenForms, type WrittenForms } from './conditioned.js';

export interface PolicyWorld {
  /** The folder it was loaded from. */
  readonly dir: string;
  readonly directory: Directory;
  readonly resolver: PrincipalResolver;
  readonly routes: CompiledRouteMap;
  /** The routes as written, for questions about every route (the access matrix). */
  readonly routeList: readonly RouteSpec[];
  /** The paths the folder's gateway accepts (its iamgate.yaml's `paths` and target length). */
  readonly pathRules: PathRules;
  /** How each of the directory's policies was written, for comparing statements between versions. */
  readonly written: WrittenForms;
}

export type WorldLoad = { readonly ok: true; readonly world: PolicyWorld; readonly findings: readonly Finding[] } | { readonly ok: false; readonly findings: readonly Finding[] };

/** Reads and checks a route map, keeping its route list beside the compiled map. */
async function loadRoutes(file: string): Promise<{ spec?: { list: readonly RouteSpec[]; map: CompiledRouteMap }; findings: readonly Finding[] }> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (err) {
    return { findings: [finding('FILE_UNREADABLE', '', `cannot read route map: ${fileErrorReason(err)}`, file)] };
  }
  const doc = parseYamlText(text, file);
  if (!doc.ok) return { findings: doc.findings };
  const { spec, findings } = parseRouteMap(doc.value, file);
  return spec ? { spec: { list: spec.routes, map: compileRouteMap(spec) }, findings } : { findings };
}

/** The gateway's path rules with what the folder's iamgate.yaml sets over its defaults. */
function pathRulesOf(dir: string): PathRules {
  const { maxTargetLength, ...paths } = folderPathOptions(dir);
  return { ...DEFAULT_PATH_RULES, ...paths, ...(maxTargetLength !== undefined ? { maxLength: maxTargetLength } : {}) };
}

/** Loads a policy folder (or explicit files); any error finding means no world. */
export async function loadPolicyWorld(dir: string, files: PolicyFilePaths = locatePolicyFiles(dir)): Promise<WorldLoad> {
  const [dirLoad, routeLoad] = await Promise.all([loadDirectory(files.directory), loadRoutes(files.routes)]);
  const findings = [...dirLoad.findings, ...routeLoad.findings];
  if (!dirLoad.directory || !routeLoad.spec) return { ok: false, findings };
  const directory = dirLoad.directory;
  return {
    ok: true,
    findings,
    world: { dir: resolve(dir), directory, resolver: createPrincipalResolver(directory), routes: routeLoad.spec.map, routeList: routeLoad.spec.list, pathRules: pathRulesOf(dir), written: writtenForms(directory) },
  };
}

/** One line per finding, as `iamgate validate` prints it. */
export { formatFinding } from '../config/findings.js';
