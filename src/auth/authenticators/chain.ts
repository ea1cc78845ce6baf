// The authenticators of a gateway as one chain: each is offered the request in turn, and the
// first that claims it decides. A request none claims has no credential iamgate knows: 401
// `token_missing`, challenged by every scheme that has a challenge.
import { authFailure } from '../errors.js';
import { NOT_MINE, type Authenticator, type AuthOutcome, type AuthRejection, type AuthResult, type CredentialFacts } from './authenticator.js';

/** A chain's answer: a principal, or a failure with the challenge of the scheme that answered it. */
export type ChainOutcome = Extract<AuthOutcome, { readonly ok: true }> | (AuthRejection & { readonly challenge: string | undefined });

export interface AuthenticatorChain {
  /** Synchronous when the authenticator that claims the request answers synchronously. */
  authenticate(facts: CredentialFacts): ChainOutcome | Promise<ChainOutcome>;
}

/** Creates a chain over authenticators in precedence order; `realm` is named in challenges. */
export function createAuthenticatorChain(members: readonly Authenticator[], realm: string): AuthenticatorChain {
  /**
   * The challenge of the scheme that answered; a scheme without one of its own (the mesh peer)
   * still gets a 401 that names a scheme the caller could use instead, as RFC 7235 wants.
   */
  const challengeFor = (member: Authenticator, failure: AuthRejection): string | undefined => {
    const own = member.challenge?.(realm, failure);
    if (own !== undefined) return own;
    for (const other of members) {
      const c = other === member ? undefined : other.challenge?.(realm, failure);
      if (c !== undefined) return c;
    }
    return undefined;
  };

  /**
   * A failure without an audit detail is the same answer every time for its member, code and
   * message (a challenge depends on the realm and the failure alone): built once, shared frozen.
   */
  const plain = members.map(() => new Map<string, AuthRejection & { readonly challenge: string | undefined }>());

  const answered = (index: number, outcome: AuthOutcome): ChainOutcome => {
    if (outcome.ok) return outcome;
    const member = members[index]!;
    const { code, status, message, detail } = outcome;
    // Every field named: a copy made with a spread and one more key costs V8 microseconds a request.
    if (detail !== undefined) return { ok: false, code, status, message, detail, challenge: status === 401 ? challengeFor(member, outcome) : undefined };
    const known = plain[index]!;
    let answer = known.get(code);
    if (answer === undefined || answer.message !== message || answer.status !== status) {
      answer = Object.freeze({ ok: false as const, code, status, message, challenge: status === 401 ? challengeFor(member, outcome) : undefined });
      known.set(code, answer);
    }
    return answer;
  };

  /** The answer to a request no member claims: the same for every such request, built once with the chain, shared frozen. */
  const unclaimed: ChainOutcome = (() => {
    const challenges: string[] = [];
    for (const m of members) {
      const c = m.challenge?.(realm, undefined);
      if (c !== undefined) challenges.push(c);
    }
    return Object.freeze({ ...authFailure('token_missing'), challenge: challenges.length > 0 ? challenges.join(', ') : undefined });
  })();

  const from = (index: number, facts: CredentialFacts): ChainOutcome | Promise<ChainOutcome> => {
    for (let i = index; i < members.length; i++) {
      const result: AuthResult | Promise<AuthResult> = members[i]!.authenticate(facts);
      if (result instanceof Promise) return result.then((r) => (r === NOT_MINE ? from(i + 1, facts) : answered(i, r)));
      if (result !== NOT_MINE) return answered(i, result);
    }
    return unclaimed;
  };

  return { authenticate: (facts) => from(0, facts) };
}
