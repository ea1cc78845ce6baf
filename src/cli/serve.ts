// `iamgate serve [--config FILE] [--demo] [--workers N]`: validate the configuration (every problem listed,
// nothing started when any), build authentication, start the gateway and its operations
// listener, and stop gracefully on SIGTERM/SIGINT (reload, and reopen the audit file, on SIGHUP).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { configuredSecrets, createIamgate, createLogger, createTextRedactor, loadConfig, redisConfigured, upstreamToProbe, upstreamUnreachable, type Iamgate, type IamgateConfig } from '../app/index.js';
import { iamgateVersion } from '../app/version.js';
import { authenticationWarnings, createMemoryStateStore, holdStateFolder, INSTANCE_LOCK, openDurableStateStore, stateFiles, type FolderHold, type StateStore } from '../auth/index.js';
import { startDemoUpstream, type DemoUpstream } from '../demo/upstream.js';
import { fileErrorReason, FolderError } from '../config/index.js';
import { EXIT, unknownArgument } from './exit.js';
import { serveListeners, takenPortMessage } from './taken-port.js';
import { isClusterPrimary, isClusterWorker, leaveCluster, primaryChannel, runPrimary, takeWorkers } from './serve-workers.js';
import { configProblemLines, type CliIo } from './io.js';

const SYNOPSIS = 'usage: iamgate serve [--config FILE] [--demo] [--workers N]';

const USAGE = `${SYNOPSIS}

  --config FILE  the configuration file (default: $IAMGATE_CONFIG)
  --workers N    run N gateway processes sharing the ports (node:cluster; default 1)
  --demo         also start the demo orders service on the upstream's loopback port;
                 without --config or $IAMGATE_CONFIG, runs the example in policies/

Environment: IAMGATE_CONFIG, IAMGATE_PORT, IAMGATE_OPS_PORT, IAMGATE_UPSTREAM, REDIS_URL, IAMGATE_LOG_LEVEL, IAMGATE_STATE_DIR,
IAMGATE_WORKERS.
Signals: SIGTERM/SIGINT stop gracefully; SIGHUP reloads the policies and reopens the audit file.`;

/** The example configuration shipped in policies/ (found from src/cli or dist/cli alike). */
export const EXAMPLE_CONFIG = fileURLToPath(new URL('../../policies/iamgate.yaml', import.meta.url));

interface ServeArgs {
  readonly config: string | undefined;
  readonly demo: boolean;
}

function parseArgs(argv: readonly string[]): ServeArgs | string {
  let config: string | undefined;
  let demo = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--demo') demo = true;
    else if (arg === '--config') {
      config = argv[++i];
      if (config === undefined) return '--config needs a file';
    } else if (arg.startsWith('--config=')) config = arg.slice('--config='.length);
    else return unknownArgument(arg, ['--config', '--demo', '--workers', '--help']);
  }
  return { config, demo };
}

/** Loopback host and port of the upstream URL, where --demo starts the demo service. */
function demoAddress(config: IamgateConfig): { host: string; port: number } | undefined {
  const url = new URL(config.upstream.url);
  const host = url.hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') return undefined;
  return { host: host === '[::1]' ? '::1' : host, port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)) };
}

/** auth.stateDir, resolved from the configuration file's folder as the state files' paths are. */
function stateFolder(config: IamgateConfig): string {
  return resolve(config.file ? dirname(config.file) : process.cwd(), config.auth.stateDir);
}

type HeldFolder = Extract<FolderHold, { ok: true }>;

/**
 * Without Redis, the process that keeps the security state in auth.stateDir (a lone serve, or the
 * primary of `serve --workers`, whose workers ask it) holds the folder for its life, so that a
 * second process started on it refuses to start instead of overwriting its files. With Redis the
 * state is kept there and nothing is held. Resolves to the one line saying who holds it, if another does.
 */
async function holdState(config: IamgateConfig): Promise<HeldFolder | undefined | string> {
  if (redisConfigured(config.redis)) return undefined;
  const folder = stateFolder(config);
  let hold: FolderHold;
  try {
    hold = await holdStateFolder(folder);
  } catch (err) {
    if (err instanceof FolderError) return `auth.stateDir ${folder}: cannot be used: ${err.message}`;
    // A lock that cannot be read or written (a read-only volume, a folder in its place): the system's
    // error alone would name neither the setting nor, for some errors, the file.
    const { code, path } = err as NodeJS.ErrnoException;
    if (code === undefined) throw err;
    return `auth.stateDir ${folder}: cannot be used: ${path ?? join(folder, INSTANCE_LOCK)}: ${fileErrorReason(err)}`;
  }
  if (hold.ok) return hold;
  return (
    `auth.stateDir ${folder} is in use by another iamgate process (pid ${hold.heldBy}, ${hold.file}): ` +
    `without Redis two processes would overwrite each other's revocations and MFA state; give each its own auth.stateDir (or IAMGATE_STATE_DIR), share state through redis.url (REDIS_URL), or run one process with --workers N`
  );
}

/** What serve started: iamgate, and the demo service beside it. */
interface Started {
  readonly iamgate: Iamgate;
  readonly demo: DemoUpstream | undefined;
  /** The state folder this process holds (none with Redis, or in a worker). */
  readonly hold: HeldFolder | undefined;
  readonly logger: Logger;
  /** shutdown.graceMs: how long requests in flight may take to finish once a stop begins. */
  readonly graceMs: number;
}

/**
 * Past the grace for requests in flight, how long the parts may take to close before the process
 * ends anyway: a part that cannot close (a write blocked on a pipe nobody reads) must not keep a
 * stopped gateway alive.
 */
const CLOSE_MARGIN_MS = 10_000;

/** Stops iamgate, then the demo service, then lets the state folder go (its last state written). */
async function stopStarted(started: Pick<Started, 'demo' | 'hold'> & { iamgate?: Iamgate }, graceMs?: number): Promise<void> {
  try {
    await started.iamgate?.stop(graceMs);
  } finally {
    await started.demo?.close();
    await started.hold?.release();
  }
}

/** The configuration file serve runs: --config, else $IAMGATE_CONFIG, else with --demo the example. */
function configFile(args: ServeArgs): string | undefined {
  const file = args.config ?? process.env['IAMGATE_CONFIG'] ?? (args.demo ? EXAMPLE_CONFIG : undefined);
  return file === '' ? undefined : file;
}

/**
 * With --workers and --demo, the primary starts the demo service once, before any worker can
 * forward to it: a store per worker would answer each caller from whichever worker its connection
 * reached (two orders with one id). A configuration that does not load starts nothing here: the
 * workers report its problems.
 */
async function startDemoForWorkers(args: ServeArgs): Promise<DemoUpstream | undefined> {
  const file = configFile(args);
  if (!args.demo || file === undefined) return undefined;
  const loaded = await loadConfig({ file, env: process.env });
  const at = loaded.ok ? demoAddress(loaded.config) : undefined;
  if (!loaded.ok || !at) return undefined;
  let demo: DemoUpstream;
  try {
    demo = await startDemoUpstream(at);
  } catch (err) {
    const taken = takenPortMessage(err, serveListeners(loaded.config, at.port));
    throw taken === undefined ? err : new Error(taken);
  }
  createLogger(loaded.config.logging.level, undefined, configuredSecrets(loaded.config)).info({ url: demo.url }, 'demo orders service listening');
  return demo;
}

/**
 * The state the primary of `serve --workers` holds for its workers when there is no Redis, with the
 * revocations and TOTP marks kept in the state folder as a single instance keeps them (a restart forgets none).
 * A configuration that does not load gets the memory store: the workers report its problems.
 */
async function workersState(args: ServeArgs): Promise<{ state: StateStore; hold: HeldFolder | undefined }> {
  const file = configFile(args);
  const loaded = file === undefined ? undefined : await loadConfig({ file, env: process.env });
  if (!loaded?.ok) return { state: createMemoryStateStore(), hold: undefined };
  const hold = await holdState(loaded.config);
  if (typeof hold === 'string') throw new Error(hold);
  const baseDir = loaded.config.file ? dirname(loaded.config.file) : process.cwd();
  try {
    return { state: await openDurableStateStore(stateFiles(loaded.config.auth, (p) => resolve(baseDir, p))), hold };
  } catch (err) {
    await hold?.release();
    throw err;
  }
}

/** Starts everything; resolves to what runs, or to an exit code when the configuration or policies are wrong. */
async function start(args: ServeArgs, io: CliIo): Promise<Started | number> {
  const file = configFile(args);
  if (file === undefined) {
    io.stderr(`iamgate serve: no configuration (pass --config FILE or set IAMGATE_CONFIG; --demo runs the example in policies/)\n${SYNOPSIS}`);
    return EXIT.usage;
  }
  const loaded = await loadConfig({ file, env: process.env });
  if (!loaded.ok) {
    const other = await (await import('./file-kinds.js')).notAConfiguration(file);
    if (other !== undefined) {
      io.stderr(`iamgate serve: ${file} is ${other}, not a configuration; nothing was started: pass the iamgate.yaml that names it (--config or IAMGATE_CONFIG), or --demo for the example`);
      return EXIT.failed;
    }
    io.stderr(`iamgate serve: the configuration has ${loaded.problems.length} problem(s); nothing was started:`);
    for (const line of configProblemLines(loaded.problems)) io.stderr(line);
    return EXIT.failed;
  }
  const config = loaded.config;
  const demoAt = args.demo ? demoAddress(config) : undefined;
  if (args.demo && !demoAt) {
    io.stderr(`iamgate serve: --demo needs a loopback upstream URL (got ${config.upstream.url})`);
    return EXIT.usage;
  }

  // A worker's state is its primary's, which holds the folder for all of them.
  const hold = isClusterWorker() ? undefined : await holdState(config);
  if (typeof hold === 'string') {
    io.stderr(`iamgate serve: ${hold}`);
    return EXIT.failed;
  }
  const logger = createLogger(config.logging.level, undefined, configuredSecrets(config));
  let demo: DemoUpstream | undefined;
  let iamgate: Iamgate;
  try {
    // With --workers the primary runs the demo service (startDemoForWorkers), once for them all.
    if (demoAt && !isClusterWorker()) {
      demo = await startDemoUpstream(demoAt);
      logger.info({ url: demo.url }, 'demo orders service listening');
    }
    const primary = primaryChannel();
    iamgate = await createIamgate(config, { logger, listenWhenReady: isClusterWorker(), ...(primary ? { primary } : {}) });
  } catch (err) {
    await demo?.close();
    await hold?.release();
    const taken = takenPortMessage(err, serveListeners(config, demoAt?.port));
    if (taken === undefined) throw err;
    io.stderr(`iamgate serve: ${taken}`);
    return EXIT.failed;
  }
  const { gateway } = iamgate;
  const first = await gateway.initialLoad;
  if (!first.ok) {
    // Problems quote the values at fault: redacted as the log's lines are.
    const redact = createTextRedactor(configuredSecrets(config));
    io.stderr(`iamgate serve: the policies have ${first.problems.length} problem(s):`);
    for (const p of first.problems) io.stderr(`  ${redact(p)}`);
    await stopStarted({ iamgate, demo, hold }, 0);
    return EXIT.failed;
  }
  logger.info({ version: iamgateVersion(), gateway: gateway.bound.gateway, operations: gateway.bound.operations, upstream: config.upstream.url, mode: config.mode }, 'iamgate listening');
  for (const warning of authenticationWarnings(config.auth)) logger.warn(warning);
  const probed = upstreamToProbe(config);
  if (probed !== undefined) {
    void upstreamUnreachable(probed).then((reason) => {
      if (reason === undefined) return;
      logger.warn(
        { upstream: probed, setting: 'upstream.url, IAMGATE_UPSTREAM', reason },
        'upstream not answering: requests iamgate allows are answered 502 upstream_unavailable until it does (forward-auth and ext_authz answers do not need it)',
      );
    });
  }
  return { iamgate, demo, hold, logger, graceMs: config.shutdown.graceMs };
}

/** Runs the gateway until SIGTERM or SIGINT; resolves to the exit code. */
export async function runServe(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout(USAGE);
    return EXIT.ok;
  }
  const split = takeWorkers(argv, process.env);
  if (typeof split === 'string') {
    io.stderr(`iamgate serve: ${split}\n${SYNOPSIS}`);
    return EXIT.usage;
  }
  const args = parseArgs(split.rest);
  if (typeof args === 'string') {
    io.stderr(`iamgate serve: ${args}\n${SYNOPSIS}`);
    return EXIT.usage;
  }
  if (isClusterPrimary(split.workers)) {
    let held: Awaited<ReturnType<typeof workersState>>;
    try {
      held = await workersState(args);
    } catch (err) {
      io.stderr(`iamgate serve: ${(err as Error).message}`);
      return EXIT.failed;
    }
    try {
      const demo = await startDemoForWorkers(args);
      try {
        return await runPrimary(split.workers, io, held.state);
      } finally {
        await demo?.close();
      }
    } finally {
      await held.hold?.release();
    }
  }
  // A worker leaves the cluster however it ends (a refused configuration, a failed start, a stop):
  // its channel to the primary would keep it alive, and the primary waiting for it, forever.
  // A stop or a reload asked for while starting (the listeners may already answer, and logrotate or a
  // ConfigMap update may send SIGHUP) is held and carried out once the start has finished: without a
  // handler, Node would end the process at once, its last records unwritten.
  let stopAskedDuringStart: NodeJS.Signals | undefined;
  let reloadAskedDuringStart = false;
  // A second stop while starting means the caller will not wait (Ctrl+C twice on a start that hangs):
  // it ends the process at once, as an unhandled signal would.
  const holdStop = (signal: NodeJS.Signals): void => {
    if (stopAskedDuringStart === undefined) {
      stopAskedDuringStart = signal;
      return;
    }
    io.stderr(`iamgate serve: ${signal} again while starting; exiting without a graceful stop`);
    process.exit(EXIT.failed);
  };
  const holdReload = (): void => void (reloadAskedDuringStart = true);
  process.on('SIGTERM', holdStop);
  process.on('SIGINT', holdStop);
  process.on('SIGHUP', holdReload);
  try {
    let started: Started | number;
    try {
      started = await start(args, io);
    } finally {
      process.off('SIGTERM', holdStop);
      process.off('SIGINT', holdStop);
      process.off('SIGHUP', holdReload);
    }
    if (typeof started === 'number') return started;
    const { iamgate, logger } = started;
    const code = await new Promise<number>((resolve) => {
      let stopping = false;
      const stop = (signal: NodeJS.Signals): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal, inFlight: iamgate.gateway.inFlight() }, 'stopping: no new connections, finishing requests in flight');
        // Armed only once a stop began: it never fires in a process that keeps serving.
        setTimeout(() => {
          io.stderr(`iamgate serve: the stop did not finish within ${started.graceMs + CLOSE_MARGIN_MS} ms; exiting`);
          process.exit(EXIT.failed);
        }, started.graceMs + CLOSE_MARGIN_MS).unref();
        void stopStarted(started).then(
          () => {
            process.off('SIGHUP', reload);
            resolve(EXIT.ok);
          },
          (err: unknown) => {
            // The message names the part (an audit sink that could not write its last records):
            // the stack would only say where in iamgate that was found.
            logger.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
            resolve(EXIT.failed);
          },
        );
      };
      const reload = (): void => void iamgate.reload();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      process.on('SIGHUP', reload);
      if (stopAskedDuringStart !== undefined) stop(stopAskedDuringStart);
      else if (reloadAskedDuringStart) reload();
    });
    return code;
  } finally {
    leaveCluster();
  }
}
