// `iamgate serve` as a real process for the deployment tests, and an HTTP client for it.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SignJWT, type CryptoKey } from 'jose';
import { freePort } from '../support/redis.js';
import { CHILD_PROCESS_MS } from '../support/timeouts.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface Answer {
  readonly status: number;
  readonly body: string;
  readonly auth: string | null;
}

export interface ServeProcess {
  /** The process id (the primary's, with `--workers`). */
  readonly pid: number;
  readonly gatewayPort: number;
  readonly opsPort: number;
  /** Calls the gateway port, with a bearer token and a JSON body when given. */
  call(method: string, path: string, token?: string, json?: unknown): Promise<Answer>;
  /** Sends a signal to the process. */
  signal(name: NodeJS.Signals): void;
  /** Resolves to the exit code. */
  readonly exit: Promise<number | null>;
  /** What the process printed so far, standard output and standard error as they arrived. */
  log(): string;
  /**
   * What the process printed on standard output alone (where the stdout audit trail goes): standard
   * error arrives on a pipe of its own, and a line of it must not land among, or inside, the lines
   * of standard output.
   */
  stdout(): string;
  /** Kills the process if it still runs. */
  kill(): void;
  /** Closes the reading end of the process's stdout, as a reader that went away would. */
  closeStdout(): void;
}

/**
 * Starts `iamgate serve --config FILE` on free ports and waits until /readyz answers 200 (within
 * `readyWithinMs`, by default as long as a cold tsx start on a loaded machine may take), with `args`
 * after the file. Callers give their hook or test CHILD_PROCESS_TEST_MS or more.
 */
export async function startServe(configFile: string, env: Record<string, string>, readyWithinMs = CHILD_PROCESS_MS, args: readonly string[] = []): Promise<ServeProcess> {
  const gatewayPort = await freePort();
  const opsPort = await freePort();
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--config', configFile, ...args], {
    env: {
      ...process.env,
      IAMGATE_PORT: String(gatewayPort),
      IAMGATE_OPS_PORT: String(opsPort),
      IAMGATE_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stdout: Buffer[] = [];
  child.stdout?.on('data', (d: Buffer) => {
    stdout.push(d);
    output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const call = async (method: string, path: string, token?: string, json?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = token === undefined ? {} : { authorization: `Bearer ${token}` };
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`http://127.0.0.1:${gatewayPort}${path}`, {
      method,
      headers,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
    });
    return { status: res.status, body: await res.text(), auth: res.headers.get('www-authenticate') };
  };

  const deadline = Date.now() + readyWithinMs;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${opsPort}/readyz`).then((r) => r.status, () => 0);
    if (ready === 200) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`iamgate did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    pid: child.pid ?? 0,
    gatewayPort,
    opsPort,
    call,
    signal: (name) => child.kill(name),
    exit,
    log: () => output,
    stdout: () => Buffer.concat(stdout).toString('utf8'),
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    closeStdout: () => child.stdout?.destroy(),
  };
}

/** A short-lived bearer token with the given issuer, subject and audience. */
export function mintToken(claims: { iss: string; sub: string; aud: string }, key: CryptoKey, kid: string, alg: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg, kid })
    .setIssuer(claims.iss)
    .setAudience(claims.aud)
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime('15m')
    .sign(key);
}
