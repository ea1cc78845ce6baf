// The `tracing` section of iamgate.yaml: the optional OpenTelemetry exporter (OTLP over HTTP, JSON
// encoding). W3C traceparent propagation needs no configuration. docs/tracing.md documents every key.
import { FileReader, isDoc } from '../config/reader.js';
import type { Finding } from '../policy/index.js';

export interface TracingConfig {
  /** OTLP/HTTP traces endpoint, e.g. `http://127.0.0.1:4318/v1/traces`. */
  readonly endpoint: string;
  /** Extra request headers for the collector (an API key, say). */
  readonly headers: Readonly<Record<string, string>>;
  /** The `service.name` resource attribute. */
  readonly serviceName: string;
  /** Send the spans gathered so far at least this often, in ms. */
  readonly exportIntervalMs: number;
  /** Spans kept while the collector is slow or away; past it the oldest are dropped (and counted). */
  readonly maxQueuedSpans: number;
  /** Deadline of one export request, in ms. */
  readonly timeoutMs: number;
}

const KEYS = ['otlp', 'serviceName', 'exportIntervalMs', 'maxQueuedSpans'];

/** Reads the `tracing` section (undefined: no exporter). `config` is set only when there is no problem. */
export function readTracingConfig(raw: unknown, options: { path?: string; file?: string } = {}): { config?: TracingConfig; findings: Finding[] } {
  if (raw === undefined || raw === null) return { findings: [] };
  const r = new FileReader(options.file);
  const path = options.path ?? 'tracing';
  const root = r.section({ tracing: raw }, 'tracing', path, KEYS);
  const otlp = r.section(root, 'otlp', `${path}.otlp`, ['endpoint', 'headers', 'timeoutMs']);
  if (otlp['endpoint'] === undefined) r.problem(`${path}.otlp.endpoint`, 'required: the collector\'s OTLP/HTTP traces URL (http://host:4318/v1/traces)');
  const endpoint = r.string(otlp, 'endpoint', `${path}.otlp.endpoint`, '');
  if (endpoint !== '' && !/^https?:\/\/[^/\s]+/.test(endpoint)) r.problem(`${path}.otlp.endpoint`, `"${endpoint}" is not an http(s) URL`);
  const headers: Record<string, string> = {};
  const rawHeaders = otlp['headers'];
  if (rawHeaders !== undefined) {
    if (!isDoc(rawHeaders)) r.problem(`${path}.otlp.headers`, 'must be a mapping of header names to strings');
    else for (const [name, value] of Object.entries(rawHeaders)) {
      if (typeof value !== 'string' || !/^[A-Za-z0-9-]+$/.test(name)) r.problem(`${path}.otlp.headers.${name}`, 'must be a header name (letters, digits, -) with a string value');
      else headers[name.toLowerCase()] = value;
    }
  }
  const config: TracingConfig = {
    endpoint,
    headers,
    serviceName: r.string(root, 'serviceName', `${path}.serviceName`, 'iamgate'),
    exportIntervalMs: r.int(root, 'exportIntervalMs', `${path}.exportIntervalMs`, 2000, 50, 60_000),
    maxQueuedSpans: r.int(root, 'maxQueuedSpans', `${path}.maxQueuedSpans`, 8192, 16, 1_000_000),
    timeoutMs: r.int(otlp, 'timeoutMs', `${path}.otlp.timeoutMs`, 5000, 100, 60_000),
  };
  return r.findings.length > 0 ? { findings: r.findings } : { config, findings: [] };
}
