// The configuration file, version 1: its typed shape and defaults. docs/configuration.md
// documents every key; a change that adds, removes or renames a key updates both.

export const CONFIG_VERSION = 1;

export type Mode = 'development' | 'production';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface ListenConfig {
  readonly host: string;
  readonly port: number;
}

/** Redis Sentinel: the sentinels to ask for the current primary of `masterName`. */
export interface RedisSentinelConfig {
  readonly masterName: string;
  readonly nodes: readonly { readonly host: string; readonly port: number }[];
}

/** The upstream's connection pool: the `upstream` keys the proxy's createUpstream takes. */
export interface UpstreamOptions {
  /** Origin of the protected service, e.g. `http://127.0.0.1:8402`. */
  readonly url: string;
  /** Most connections (and so requests in flight) to the upstream. */
  readonly connections: number;
  readonly connectTimeoutMs: number;
  /** Longest wait for the response headers once the request is sent. */
  readonly headersTimeoutMs: number;
  /** Longest gap between two chunks of the response body. */
  readonly idleTimeoutMs: number;
  /** How long an idle keep-alive connection is kept. */
  readonly keepAliveTimeoutMs: number;
}

export interface GatewayConfig {
  readonly version: 1;
  /** `development` allows conveniences (local token minting, operator endpoints by default); `production` refuses them. */
  readonly mode: Mode;
  /** The file this configuration came from (absolute), when it came from one. */
  readonly file: string | undefined;
  readonly listen: ListenConfig & {
    /** Longest wait for a request's headers. */
    readonly headersTimeoutMs: number;
    /** Longest time to receive a whole request (headers and body); 0 for none. */
    readonly requestTimeoutMs: number;
    /** How long an idle client keep-alive connection stays open. */
    readonly keepAliveTimeoutMs: number;
    /** Most client connections open at once; more are closed as they arrive. */
    readonly maxConnections: number;
    /** Most header lines in one request; more answers 431. */
    readonly maxHeaders: number;
  };
  readonly operations: ListenConfig & {
    /** Serve `/v1/decisions/explain` and `/v1/policies/reload` on the operations port. */
    readonly operatorEndpoints: boolean;
    /** Host names answered besides IP addresses and `localhost` (a page's own name is refused: DNS rebinding). */
    readonly hosts: readonly string[];
    /** Most connections open at once; more are closed as they arrive. */
    readonly maxConnections: number;
  };
  /** The pool's options (see UpstreamOptions) and what is forwarded. */
  readonly upstream: UpstreamOptions & {
    readonly forwardAuthorization: boolean;
    readonly preserveHost: boolean;
  };
  readonly limits: {
    /** Largest request body forwarded, in bytes; 0 for no limit. */
    readonly maxBodyBytes: number;
    /** Longest request target (path and query), in characters. */
    readonly maxTargetLength: number;
    /** Largest total size of a request's headers, in bytes. */
    readonly maxHeaderBytes: number;
  };
  readonly paths: {
    readonly allowSemicolon: boolean;
    readonly allowTrailingDot: boolean;
    readonly allowDoubleEncoding: boolean;
    /** Refuse any path whose NFKC form differs from it (look-alikes of separators and dots are refused regardless). */
    readonly refuseNonNfkc: boolean;
  };
  /** Proxies (CIDRs) whose X-Forwarded-* headers are believed. */
  readonly trustedProxies: readonly string[];
  readonly policies: {
    /** Directory file (users, groups, roles, managed policies); absolute after loading. */
    readonly directory: string;
    /** Route map file; absolute after loading. */
    readonly routes: string;
    /** Reload when the files change (their folders are watched), as on SIGHUP. */
    readonly watch: boolean;
    /** A candidate policy folder decided beside the live one (shadow evaluation); absolute after loading. */
    readonly shadow?: string;
  };
  readonly forwardAuth: { readonly enabled: boolean };
  readonly decisions: {
    /** Put the statement-level explanation of a deny in the 403 body. */
    readonly explainToCaller: boolean;
  };
  /**
   * Redis, when `url` or `sentinel` is set. With `sentinel`, the primary is found through the
   * sentinels and `url` supplies only credentials, database and TLS.
   */
  readonly redis: { readonly url: string | undefined; readonly sentinel: RedisSentinelConfig | undefined };
  readonly logging: { readonly level: LogLevel };
  readonly shutdown: {
    /** How long in-flight requests may run after SIGTERM before their connections are closed. */
    readonly graceMs: number;
  };
  readonly websocket: {
    /** Longest an authorised WebSocket tunnel stays open, ms; 0 for no limit (the token's `exp` still ends it). */
    readonly maxLifetimeMs: number;
  };
  /**
   * Sections read by other parts of iamgate (SECTION_NAMES: `auth`, `cache`, `audit`, ...), passed
   * on as written: src/app/config.ts reads each with its part's reader into the typed value.
   */
  readonly sections: Readonly<Record<string, unknown>>;
}

/** Defaults for every key that has one (paths are relative to the config file's folder). */
export const DEFAULTS = {
  mode: 'production',
  listen: { host: '0.0.0.0', port: 8400, headersTimeoutMs: 30_000, requestTimeoutMs: 300_000, keepAliveTimeoutMs: 5_000, maxConnections: 10_000, maxHeaders: 200 },
  operations: { host: '0.0.0.0', port: 8401, maxConnections: 100 },
  upstream: {
    url: 'http://127.0.0.1:8402',
    connections: 128,
    connectTimeoutMs: 5_000,
    headersTimeoutMs: 30_000,
    idleTimeoutMs: 60_000,
    keepAliveTimeoutMs: 4_000,
    forwardAuthorization: false,
    preserveHost: true,
  },
  limits: { maxBodyBytes: 10 * 1024 * 1024, maxTargetLength: 8192, maxHeaderBytes: 16 * 1024 },
  paths: { allowSemicolon: false, allowTrailingDot: false, allowDoubleEncoding: false, refuseNonNfkc: false },
  trustedProxies: [] as readonly string[],
  policies: { directory: 'directory.yaml', routes: 'routes.yaml', watch: true },
  forwardAuth: { enabled: false },
  decisions: { explainToCaller: false },
  logging: { level: 'info' },
  shutdown: { graceMs: 25_000 },
  websocket: { maxLifetimeMs: 3_600_000 },
} as const;
