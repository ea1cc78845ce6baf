// The one error table of every front door, and the one body of its answers.
export { denyBody, errorAnswer, errorBody, GATEWAY_ERRORS, operatorErrorBody, STS_ERRORS, stsErrorBody, stsReasonBody } from './table.js';
export type { DenyReason, ErrorAnswer, ErrorInfo, GatewayErrorCode, StsErrorCode } from './table.js';
