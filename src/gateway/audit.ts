// The audit seam: one decision event per request that reaches the pipeline, handed to the sink
// before an allowed request is forwarded, and an `outcome` event once the upstream has answered
// (or, for a request refused because its decision record could not be written, once it can be).
// Events use the audit trail's input schema; the default sink writes each as one pino line.
import type { Logger } from 'pino';
import { AuditError, type AuditEventInput } from '../audit/index.js';

export type { AuditEventInput };

export interface AuditSink {
  /**
   * Records one event. A returned promise is awaited before an allowed request is forwarded; if
   * it rejects, the decision could not be kept and the request is refused (503).
   */
  record(event: AuditEventInput): void | Promise<void>;
  /**
   * `record` without a Promise (the audit log offers it): true when `done` will be called once,
   * later, with no error once the record is kept or with the error `record`'s promise would reject
   * with; false when there is nothing to wait for. Throws where the record is refused at once.
   */
  recordThen?(event: AuditEventInput, done: (err: unknown) => void): boolean;
  /**
   * Records an event once the sinks that refused records accept them again; never refuses, never
   * waits. A sink that can hold a record it failed to write (the audit log) offers it, so that what
   * follows that record reaches the trail after it.
   */
  recordWhenAccepting?(event: AuditEventInput): void;
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

/**
 * After `record` refused a decision event with `err` and the request was answered `status` for it:
 * when the record was sealed into the trail and only its write failed (`ERR_AUDIT_WRITE_FAILED`:
 * the sink keeps it and writes it once it can), has the sink add an `outcome` that says the request
 * was refused, so the trail never shows its decision as the answer. A record refused before it was
 * sealed (`ERR_AUDIT_UNAVAILABLE`, `ERR_AUDIT_CLOSED`) is in no trail: nothing follows it.
 */
export function followRefusedRecord(audit: AuditSink, event: AuditEventInput, err: unknown, status: number): void {
  if (!(err instanceof AuditError) || err.code !== 'ERR_AUDIT_WRITE_FAILED' || audit.recordWhenAccepting === undefined) return;
  audit.recordWhenAccepting({
    kind: 'outcome',
    reason: 'audit_unavailable',
    ...(event.requestId !== undefined ? { requestId: event.requestId } : {}),
    status,
    ...(event.traceId !== undefined ? { traceId: event.traceId } : {}),
  });
}
