export { CONFIG_VERSION, DEFAULTS, type GatewayConfig, type ListenConfig, type LogLevel, type Mode, type RedisSentinelConfig, type UpstreamOptions } from './schema.js';
export { ENV, formatProblems, loadConfig, loadConfigParts, readConfig, readConfigParts, SECTION_NAMES, type ConfigLoad, type ConfigParts } from './load.js';
export { FINDING_CODES, finding, formatFinding, printable, unicodeEscape, type Finding, type FindingCode } from './findings.js';
export { parseYamlText, type YamlParse } from './yaml.js';
export { folderPathOptions, locatePolicyFiles, type FolderPathOptions, type PolicyFilePaths } from './policy-folder.js';
export { writeNewFile } from './new-file.js';
export { FolderError, makeFolder, makeFolderSync } from './new-folder.js';
export { fileErrorReason, knownFileReason, MAX_TEXT_FILE_BYTES, openRegularFile, readTextFile, readTextFileSync, TextFileError } from './text-file.js';
