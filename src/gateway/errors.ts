// The failures the gateway answers with a code of the one error table (src/errors/): a throw
// where a part cannot go on, and the code an unexpected throw or a forwarding failure is given.
import { AuditError } from '../audit/index.js';
import { GATEWAY_ERRORS, type GatewayErrorCode } from '../errors/index.js';
import { RequestBodyError, type ProxyFailure } from '../proxy/index.js';

/**
 * A failure that is answered with a code of the table. Thrown where a part cannot go on (and
 * caught where the answer is written); `switch (err.code)` narrows, no message is ever compared.
 */
export class GatewayError extends Error {
  readonly code: GatewayErrorCode;

  constructor(code: GatewayErrorCode, message: string = GATEWAY_ERRORS[code].title, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
    this.code = code;
  }

  get status(): number {
    return GATEWAY_ERRORS[this.code].status;
  }
}

/**
 * The code an unexpected throw is answered with: a GatewayError's own, a request body's failure
 * (read by an endpoint when it could never arrive whole), `audit_unavailable` for an audit trail
 * that could not keep a record, and `internal_error` for anything else (a bug).
 */
export function errorCodeOf(err: unknown): GatewayErrorCode {
  if (err instanceof GatewayError) return err.code;
  if (err instanceof RequestBodyError) return err.failure;
  if (err instanceof AuditError) return 'audit_unavailable';
  return 'internal_error';
}

const CLIENT_CLOSED_STATUS = 499;

/**
 * The status a forwarding failure is recorded with: the table's for every failure a caller is
 * answered, and nginx's 499 for a caller that left before any answer (it is never sent).
 */
export function failureStatus(failure: ProxyFailure): number {
  return failure === 'client_closed' ? CLIENT_CLOSED_STATUS : GATEWAY_ERRORS[failure].status;
}
