// The authentication seam: what the pipeline needs from whoever verifies credentials.
import type { Principal } from '../identity/index.js';

export type AuthOutcome =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      /** Stable reason code, e.g. `token_expired`. */
      readonly code: string;
      readonly status: 401 | 429 | 503;
      /** Public title; safe to show the caller. */
      readonly message: string;
      /** Audit-only detail; never sent to the caller. */
      readonly detail?: string;
    };

/** Verifies a request's credentials and resolves the caller to a principal. Never throws for bad input. */
export interface Authenticator {
  authenticate(request: { readonly authorization: string | undefined }): Promise<AuthOutcome>;
}
