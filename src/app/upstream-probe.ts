// One connection to the upstream when serve starts, so that a wrong or not yet started upstream is
// named at start rather than found from the first 502. The gateway still starts: a sidecar's
// service often starts after it, and forward-auth and ext_authz answers never reach the upstream.
import { connect } from 'node:net';
import { DEFAULTS } from '../config/index.js';
import type { IamgateConfig } from './config.js';

/**
 * The upstream worth asking at start, or undefined: a forward-auth or ext_authz deployment leaves
 * the upstream at its default and never forwards to it, so only an upstream the configuration
 * names, or one that the proxy alone serves, is asked.
 */
export function upstreamToProbe(config: Pick<IamgateConfig, 'upstream' | 'forwardAuth' | 'extAuthz'>): string | undefined {
  const otherDoor = config.forwardAuth.enabled || config.extAuthz !== undefined;
  return otherDoor && config.upstream.url === DEFAULTS.upstream.url ? undefined : config.upstream.url;
}

/** Resolves to why no TCP connection to the upstream could be made within `timeoutMs`, or undefined when one was. */
export async function upstreamUnreachable(url: string, timeoutMs = 2000): Promise<string | undefined> {
  const target = new URL(url);
  const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    // A stop right after the start need not wait for the answer.
    socket.unref();
    const done = (reason: string | undefined): void => {
      socket.destroy();
      resolve(reason);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done(`no connection within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}
