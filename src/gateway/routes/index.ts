export { compileRouteMap, type CompiledRouteMap, type RouteMatch } from './match.js';
export { parseRouteMap, type ContextSource, type PatternSegment, type RouteMapSpec, type RouteSpec, type UnmatchedPolicy } from './spec.js';
export { loadRouteMap, parseRouteMapText, type RouteMapLoad } from './load.js';
export { parseTemplate, checkArnShape, type CompiledTemplate } from './template.js';
