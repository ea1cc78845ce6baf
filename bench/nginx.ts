// nginx as the benchmarks run it: one worker, enough connections for 32 clients that each hold an
// upstream and an auth subrequest connection, keepalive pools to every upstream, no access log.
// The reverse proxy is the C floor iamgate is compared with; forward-auth puts iamgate behind it.
import { NGINX_BINARY, startNginx, type RunningNginx } from '../test/support/nginx.js';

export { NGINX_BINARY, type RunningNginx };

/** `upstream NAME` with a keepalive pool, and the directives a location needs to use it. */
function pool(name: string, url: string): string {
  return `upstream ${name} { server ${new URL(url).host}; keepalive 64; keepalive_requests 1000000; }`;
}
const KEEPALIVE = 'proxy_http_version 1.1; proxy_set_header Connection "";';

/** A reverse proxy to `upstream` over a keepalive pool. */
export function reverseProxy(upstream: string): { http: string; server: string } {
  return { http: pool('app', upstream), server: `location / { proxy_pass http://app; ${KEEPALIVE} }` };
}

/**
 * nginx `auth_request` to iamgate's forward-auth endpoint, as docs/forward-auth.md configures it
 * (the original method and URI, iamgate's identity headers copied to the upstream request), with
 * keepalive pools to iamgate and to the upstream so no decision pays for a TCP connection.
 */
export function forwardAuth(iamgate: string, upstream: string, identityHeaders: readonly string[]): { http: string; server: string } {
  const copy = identityHeaders.map((h) => {
    const variable = `$iamgate_${h.toLowerCase().replaceAll('-', '_')}`;
    return `auth_request_set ${variable} $upstream_http_${h.toLowerCase().replaceAll('-', '_')}; proxy_set_header ${h} ${variable};`;
  });
  return {
    http: `${pool('iamgate', iamgate)}\n${pool('app', upstream)}`,
    server: [
      'location = /_iamgate {',
      `  internal; proxy_pass http://iamgate/.iamgate/authz; ${KEEPALIVE}`,
      '  proxy_pass_request_body off; proxy_set_header Content-Length "";',
      '  proxy_set_header X-Original-URI $request_uri; proxy_set_header X-Original-Method $request_method;',
      '}',
      'location / {',
      `  auth_request /_iamgate; proxy_pass http://app; ${KEEPALIVE}`,
      ...copy.map((c) => `  ${c}`),
      '}',
    ].join('\n'),
  };
}

/** Starts nginx (one worker) with `conf.http` in its http block and `conf.server` in its server block. */
export function startBenchNginx(conf: { http: string; server: string }): Promise<RunningNginx> {
  return startNginx(conf.server, { http: `keepalive_requests 1000000;\n${conf.http}`, workerConnections: 4096 });
}
