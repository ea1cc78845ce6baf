// The policy generation: which policies an instance has loaded. Its content hash is equal on every
// replica that loaded the same files (decision keys carry it, so replicas share entries only when
// they decide alike); its id counts this instance's changes, for logs and audit records.

export interface PolicyGeneration {
  /** This instance's count of generation changes; increases by one with each new hash. */
  readonly id: number;
  /** Content hash of the loaded policy files (directory, policies, route map). */
  readonly hash: string;
}

export interface GenerationHolder {
  /** The current generation, or undefined before the first load. */
  current(): PolicyGeneration | undefined;
  /** Adopts a content hash; returns the new generation, or undefined when the hash is the current one. */
  advance(hash: string): PolicyGeneration | undefined;
}

/** Creates a holder with no generation yet. */
export function createGenerationHolder(): GenerationHolder {
  let current: PolicyGeneration | undefined;
  return {
    current: () => current,
    advance(hash) {
      if (hash === '') throw new TypeError('a policy generation needs a content hash');
      if (current?.hash === hash) return undefined;
      current = { id: (current?.id ?? 0) + 1, hash };
      return current;
    },
  };
}
