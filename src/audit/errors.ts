// The audit module's errors: one closed set of codes, each with the HTTP status the gateway answers
// and a public title (details stay in the logs).

export const AUDIT_ERRORS = {
  /** A sink configured to refuse is full or failing: the request must not proceed unrecorded. */
  ERR_AUDIT_UNAVAILABLE: { status: 503, title: 'Audit trail unavailable' },
  /** The write of a durable record failed. */
  ERR_AUDIT_WRITE_FAILED: { status: 503, title: 'Audit trail unavailable' },
  /** The audit log was closed. */
  ERR_AUDIT_CLOSED: { status: 503, title: 'Audit trail unavailable' },
} as const;

export type AuditErrorCode = keyof typeof AUDIT_ERRORS;

/** An audit failure the caller turns into a refusal (never an allow). */
export class AuditError extends Error {
  readonly code: AuditErrorCode;
  readonly status: number;
  readonly sink: string | undefined;

  constructor(code: AuditErrorCode, message: string, options?: { sink?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AuditError';
    this.code = code;
    this.status = AUDIT_ERRORS[code].status;
    this.sink = options?.sink;
  }
}
