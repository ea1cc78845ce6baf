// OpenTelemetry export, loaded only when the `tracing` section asks for it (a gateway without it
// never loads the exporter's code).
import type { Logger } from 'pino';
import type { RequestTracer } from '../trace/index.js';
import type { IamgateConfig } from './config.js';

/** The OTLP exporter when `tracing` is configured; undefined otherwise. */
export async function openTracer(config: IamgateConfig, logger: Logger): Promise<RequestTracer | undefined> {
  if (!config.tracing) return undefined;
  const { createOtlpTracer } = await import('../trace/otlp.js');
  logger.info({ endpoint: config.tracing.endpoint }, 'OpenTelemetry exporter on');
  return createOtlpTracer(config.tracing, { onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'spans not exported') });
}
