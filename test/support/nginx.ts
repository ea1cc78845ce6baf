// A private nginx for end-to-end tests: one `server` block on a free loopback port, its files in
// a temporary prefix, stopped gracefully. Tests skip themselves when nginx is not installed
// (on PATH, or where `npm test`'s pretest step installed it).
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForChild } from './redis.js';
import { findBinary, missingBinary } from './services.js';

/** The nginx binary, when installed. */
export const NGINX_BINARY = findBinary('nginx');

export interface RunningNginx {
  readonly url: string;
  /** The master process; its one worker is its child. */
  readonly pid: number;
  close(): Promise<void>;
}

export interface NginxOptions {
  /** Directives for the `http { }` block, such as `upstream` pools. */
  readonly http?: string;
  /** The worker's connection limit (64 unless given). */
  readonly workerConnections?: number;
}

/** Starts nginx with `server` (the directives inside one `server { }` block, without `listen`). */
export async function startNginx(server: string, opts: NginxOptions = {}): Promise<RunningNginx> {
  if (!NGINX_BINARY) throw missingBinary('nginx', 'nginx');
  const prefix = await mkdtemp(join(tmpdir(), 'iamgate-nginx-'));
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${prefix}/${t};`).join('\n');
  const conf = `daemon off;\nworker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log warn;\nevents { worker_connections ${opts.workerConnections ?? 64}; }\nhttp {\n  access_log off;\n${temp}\n${opts.http ?? ''}\n  server {\n    listen 127.0.0.1:${port};\n${server}\n  }\n}\n`;
  await writeFile(join(prefix, 'nginx.conf'), conf);
  const child = spawn(NGINX_BINARY, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGQUIT');
      await exited;
    }
    await rm(prefix, { recursive: true, force: true });
  };
  try {
    await waitForChild(child, 'nginx', port);
  } catch (err) {
    const log = await readFile(join(prefix, 'error.log'), 'utf8').catch(() => '');
    await close();
    throw new Error(`nginx did not start: ${log}`, { cause: err });
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, close };
}

/** iamgate's identity headers, as the documented nginx configuration copies each from the answer. */
export const IAMGATE_HEADERS = ['X-Iamgate-Principal', 'X-Iamgate-Account', 'X-Iamgate-Mfa', 'X-Iamgate-Session', 'X-Iamgate-Request-Id'] as const;

/**
 * The documented auth_request configuration (docs/forward-auth.md): the original request in
 * X-Original-URI and X-Original-Method, and every iamgate identity header set from iamgate's
 * answer, so a caller's own copy is replaced (or, set to an empty value, not sent at all).
 */
export function authRequestServer(gatewayUrl: string, upstreamUrl: string): string {
  const variable = (h: string): string => `$iamgate_${h.slice('X-Iamgate-'.length).toLowerCase().replace('-', '_')}`;
  const copy = IAMGATE_HEADERS.map((h) => `      auth_request_set ${variable(h)} $upstream_http_${h.toLowerCase().replaceAll('-', '_')};\n      proxy_set_header ${h} ${variable(h)};`).join('\n');
  return `
    location = /_iamgate {
      internal;
      proxy_pass ${gatewayUrl}/.iamgate/authz;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }
    location / {
      auth_request /_iamgate;
${copy}
      proxy_pass ${upstreamUrl};
    }`;
}
