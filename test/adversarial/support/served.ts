// The gateway as `iamgate serve` assembles it from a development configuration with its audit
// trail in a file (test/audit/served.ts), over a real test upstream: in this process, or as the
// compiled command in a child process.
import { pino } from 'pino';
import { createIamgate, loadConfig, type Iamgate } from '../../../src/app/index.js';
import { formatProblems } from '../../../src/config/index.js';
import { writeServedConfig, type ServedFiles } from '../../audit/served.js';
import { freePort } from '../../support/redis.js';
import { builtCommand, serve, stopServe, waitReady, type ServeChild } from '../../support/serve-process.js';
import { useStarted } from '../../support/suite.js';
import { CHILD_PROCESS_TEST_MS } from '../../support/timeouts.js';
import { startTestUpstream, type TestUpstream } from '../../support/upstream.js';

export interface ServedGateway {
  readonly files: ServedFiles;
  readonly upstream: TestUpstream;
  readonly served: Iamgate;
  close(): Promise<void>;
}

/** Assembles iamgate from `configFile` as `iamgate serve` does; resolves once its first policies are loaded. */
export async function serveConfigFile(configFile: string): Promise<Iamgate> {
  const loaded = await loadConfig({ file: configFile, env: {} });
  if (!loaded.ok) throw new Error(formatProblems(loaded.problems).join('\n'));
  const served = await createIamgate(loaded.config, { logger: pino({ level: 'silent' }) });
  const first = await served.gateway.initialLoad;
  if (!first.ok) throw new Error(first.problems.join('\n'));
  return served;
}

/** Starts the served gateway once its first policies are loaded. */
export async function startServedGateway(): Promise<ServedGateway> {
  const upstream = await startTestUpstream();
  const files = await writeServedConfig({ port: 0, opsPort: 0, upstreamUrl: upstream.url });
  const served = await serveConfigFile(files.config);
  return {
    files,
    upstream,
    served,
    async close() {
      await served.stop(1000);
      await upstream.close();
      await files.remove();
    },
  };
}

/** Starts the served gateway before the suite's tests and closes it after them. */
export function useServedGateway(): ServedGateway {
  return useStarted('the served gateway', startServedGateway, (gateway) => gateway.close(), 30_000);
}

export interface BuiltServe {
  readonly files: ServedFiles;
  readonly upstream: TestUpstream;
  readonly child: ServeChild;
  readonly port: number;
  readonly opsPort: number;
}

/**
 * Runs the compiled `iamgate serve` (dist/, brought up to date first) on the served configuration,
 * with keys added to its `listen` and `operations` sections and issuers to `auth.issuers` (given
 * once the suite's hooks before it have run), from before the suite's tests until after them;
 * ready when they run.
 */
export function useBuiltServe(sections: { readonly listen?: string; readonly operations?: string; readonly issuers?: () => readonly string[] }): BuiltServe {
  const close = async (s: BuiltServe): Promise<void> => {
    await stopServe(s.child);
    await s.upstream.close();
    await s.files.remove();
  };
  const start = async (): Promise<BuiltServe> => {
    await builtCommand();
    const upstream = await startTestUpstream();
    const [port, opsPort] = [await freePort(), await freePort()];
    const { issuers, ...keys } = sections;
    const files = await writeServedConfig({ port, opsPort, upstreamUrl: upstream.url, ...keys, ...(issuers ? { issuers: issuers() } : {}) });
    const child = serve(['--config', files.config], { built: true });
    const started = { files, upstream, child, port, opsPort };
    await waitReady(opsPort, child).catch(async (err: unknown) => {
      await close(started);
      throw err;
    });
    return started;
  };
  return useStarted('the compiled iamgate serve', start, close, CHILD_PROCESS_TEST_MS);
}
