export { CONFIG_VERSION, DEFAULTS, type GatewayConfig, type ListenConfig, type LogLevel, type Mode, type RedisSentinelConfig } from './schema.js';
export { ENV, formatProblems, loadConfig, readConfig, type ConfigLoad } from './load.js';
export { FINDING_CODES, finding, type Finding, type FindingCode } from './findings.js';
export { SECTION_VALIDATORS, type SectionContext, type SectionValidator } from './sections.js';
export { parseYamlText, type YamlParse } from './yaml.js';
