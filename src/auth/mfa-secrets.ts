// Where encrypted TOTP secrets live: in the shared StateStore (Redis) when one is configured, or in
// a local JSON file for single-instance examples. Either way only sealed blobs are stored.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StateStore } from './state/store.js';

export interface MfaSecretStore {
  get(owner: string): Promise<string | undefined>;
  set(owner: string, blob: string): Promise<void>;
  delete(owner: string): Promise<void>;
}

/** Secrets kept in a StateStore under `mfa:secret:<owner>`, without expiry. */
export function stateSecretStore(state: StateStore): MfaSecretStore {
  const key = (owner: string): string => `mfa:secret:${owner}`;
  return {
    get: (owner) => state.get(key(owner)),
    set: (owner, blob) => state.set(key(owner), blob),
    delete: (owner) => state.del(key(owner)),
  };
}

/**
 * Secrets kept in a JSON file (owner → sealed blob), written atomically with mode 0600. Meant for
 * one instance; writes from this process are serialised.
 */
export function fileSecretStore(path: string): MfaSecretStore {
  let queue: Promise<unknown> = Promise.resolve();

  const read = async (): Promise<Record<string, string>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError(`${path}: not a JSON object`);
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string') out[k] = v;
    return out;
  };
  const write = async (data: Record<string, string>): Promise<void> => {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, path);
  };
  const update = (change: (data: Record<string, string>) => void): Promise<void> => {
    const next = queue.then(async () => {
      const data = await read();
      change(data);
      await write(data);
    });
    queue = next.catch(() => undefined);
    return next;
  };

  return {
    get: async (owner) => (await read())[owner],
    set: (owner, blob) =>
      update((data) => {
        data[owner] = blob;
      }),
    delete: (owner) =>
      update((data) => {
        delete data[owner];
      }),
  };
}
