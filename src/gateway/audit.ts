// The audit seam: one decision event per request that reaches the pipeline, handed to the sink
// before an allowed request is forwarded, and an `outcome` event once the upstream has answered.
// Events use the audit trail's input schema; the default sink writes each as one pino line.
import type { Logger } from 'pino';
import type { AuditEventInput } from '../audit/index.js';

export type { AuditEventInput };

export interface AuditSink {
  /**
   * Records one event. A returned promise is awaited before an allowed request is forwarded; if
   * it rejects, the decision could not be kept and the request is refused (503).
   */
  record(event: AuditEventInput): void | Promise<void>;
  /** Writes out anything buffered (at shutdown). */
  flush(): Promise<void>;
}

/** The default sink: each event as one pino line at info level, marked `audit: true`. */
export function createLogAuditSink(logger: Logger): AuditSink {
  const log = logger.child({ audit: true });
  return {
    record(event) {
      log.info(event, event.kind);
    },
    flush() {
      return new Promise((resolve) => logger.flush(() => resolve()));
    },
  };
}
