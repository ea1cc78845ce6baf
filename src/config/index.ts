export { CONFIG_VERSION, DEFAULTS, type GatewayConfig, type ListenConfig, type LogLevel, type Mode, type RedisSentinelConfig } from './schema.js';
export { ENV, formatProblems, loadConfig, readConfig, type ConfigLoad } from './load.js';
export { SECTION_VALIDATORS, type SectionContext, type SectionProblem, type SectionValidator } from './sections.js';
export { parseYamlText, type YamlParse } from './yaml.js';
