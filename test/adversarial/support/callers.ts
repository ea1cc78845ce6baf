// The test gateway's port and its callers' credentials for raw-socket suites, filled in before the
// suite's tests run (as `useTestGateway` fills in the gateway).
import { beforeAll } from 'vitest';
import type { TestGateway } from '../../support/gateway.js';

type Users = { alice: string; bob: string };

export interface Callers {
  /** The gateway listener's port. */
  port: number;
  /** Each user's `Authorization` value (`Bearer ...`). */
  readonly bearer: Users;
  /** Each user's `Authorization: Bearer ...` header line. */
  readonly line: Users;
}

/** Registers a `beforeAll` that reads the gateway's port and mints tokens for alice and bob. */
export function useCallers(gw: TestGateway): Callers {
  const callers: Callers = { port: 0, bearer: { alice: '', bob: '' }, line: { alice: '', bob: '' } };
  beforeAll(async () => {
    callers.port = Number(new URL(gw.url).port);
    for (const user of ['alice', 'bob'] as const) {
      callers.bearer[user] = await gw.bearer(user);
      callers.line[user] = `Authorization: ${callers.bearer[user]}`;
    }
  });
  return callers;
}
