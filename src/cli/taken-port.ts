// `iamgate serve` meeting a port another process holds: which of its listeners it was, and the
// setting that moves it, in one line instead of Node's or gRPC's error.
import type { IamgateConfig } from '../app/index.js';

const DEMO = "the demo service's port";

/** A port serve listens on, and the settings (file key, environment variable) that choose it. */
export interface ServeListener {
  readonly port: number;
  readonly what: string;
  readonly settings: string;
}

/** The listeners a configuration opens; `demoPort` is the demo service's, with --demo. */
export function serveListeners(config: IamgateConfig, demoPort: number | undefined): ServeListener[] {
  return [
    { port: config.listen.port, what: 'the gateway port', settings: 'listen.port, IAMGATE_PORT' },
    { port: config.operations.port, what: 'the operations port', settings: 'operations.port, IAMGATE_OPS_PORT' },
    ...(config.extAuthz ? [{ port: config.extAuthz.port, what: 'the ext_authz gRPC port', settings: 'extAuthz.grpc.port' }] : []),
    ...(demoPort === undefined ? [] : [{ port: demoPort, what: DEMO, settings: 'upstream.url, IAMGATE_UPSTREAM' }]),
  ];
}

/** gRPC reports a taken port only inside its message: `... errors: [listen EADDRINUSE: address already in use HOST:PORT]`. */
const GRPC_TAKEN = /EADDRINUSE: address already in use (\[[^\]]+\]|[^\s:\]]+):(\d+)/;

/** Where a listen failed because the address was in use, from Node's error or gRPC's; undefined for any other error. */
function takenAddress(err: unknown): { address: string; port: number } | undefined {
  if (!(err instanceof Error)) return undefined;
  const { code, address, port } = err as NodeJS.ErrnoException & { address?: unknown; port?: unknown };
  if (code === 'EADDRINUSE' && typeof address === 'string' && typeof port === 'number') {
    return { address: address.includes(':') ? `[${address}]` : address, port };
  }
  const grpc = GRPC_TAKEN.exec(err.message);
  return grpc ? { address: grpc[1]!, port: Number(grpc[2]) } : undefined;
}

/**
 * One line for an address already in use: the address, which listener wanted it and the setting
 * that moves it; undefined when `err` is not that.
 */
export function takenPortMessage(err: unknown, listeners: readonly ServeListener[]): string | undefined {
  const taken = takenAddress(err);
  if (!taken) return undefined;
  const listener = listeners.find((l) => l.port === taken.port);
  const at = `${taken.address}:${taken.port}`;
  if (!listener) return `${at} is already in use: stop what listens there, or choose another port`;
  const line = `${at}, ${listener.what} (${listener.settings}), is already in use (another iamgate?): stop what listens there, or choose another port with ${listener.settings.split(', ').at(-1)!}`;
  // A second `serve --demo` meets its first port taken, then the next: name them all at once.
  const demo = listeners.some((l) => l.what === DEMO);
  return demo ? `${line} (a second serve --demo needs its own IAMGATE_PORT, IAMGATE_OPS_PORT, IAMGATE_UPSTREAM and IAMGATE_STATE_DIR)` : line;
}
