// Load generation and CPU accounting shared by the HTTP benchmarks: one wrk run with its figures
// read from a Lua `done` hook (exact microseconds and error counts rather than wrk's rounded
// text), and the CPU time of a process tree from /proc, which holds up on a busy machine where
// requests per second do not.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Clock ticks per second of /proc/PID/stat (USER_HZ, 100 on Linux). */
export const TICKS = 100;

export interface WrkRun {
  readonly url: string;
  readonly headers?: readonly string[];
  /** GET unless given. */
  readonly method?: string;
  readonly connections: number;
  readonly seconds: number;
}

export interface WrkResult {
  readonly rps: number;
  /** Latency percentiles, µs. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  /** Answers with a status of 400 or more. */
  readonly failedStatus: number;
  /** Connect, read, write and timeout errors. */
  readonly socketErrors: number;
}

// wrk calls `done` once at the end; one line of JSON is easier to read back than its report.
const DONE_HOOK = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nWRK_RESULT {"requests":%d,"micros":%d,"p50":%.1f,"p99":%.1f,"status":%d,"socket":%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
`;

const scripts = new Map<string, string>();

/** The Lua script for `method`, written once per process. */
function script(method: string): string {
  let path = scripts.get(method);
  if (path === undefined) {
    path = join(tmpdir(), `iamgate-bench-wrk-${process.pid}-${method}.lua`);
    writeFileSync(path, `wrk.method = "${method}"\n${DONE_HOOK}`);
    scripts.set(method, path);
  }
  return path;
}

/** Runs wrk -t1 once and returns its figures; fails when wrk fails or prints no result. */
export function wrk(run: WrkRun): Promise<WrkResult> {
  const args = ['-t1', `-c${run.connections}`, `-d${run.seconds}s`, '--timeout', '5s', '-s', script(run.method ?? 'GET')];
  for (const h of run.headers ?? []) args.push('-H', h);
  args.push(run.url);
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      const line = /^WRK_RESULT (\{.*\})$/m.exec(out)?.[1];
      if (code !== 0 || line === undefined) {
        reject(new Error(`wrk ${args.join(' ')} failed (exit ${code}): ${out.trim()}`));
        return;
      }
      const r = JSON.parse(line) as { requests: number; micros: number; p50: number; p99: number; status: number; socket: number };
      resolve({ rps: (r.requests * 1e6) / r.micros, p50: r.p50, p99: r.p99, requests: r.requests, failedStatus: r.status, socketErrors: r.socket });
    });
  });
}

/** CPU time (user + system) of process `pid` and all its descendants so far, in clock ticks. */
export function treeTicks(pid: number): number {
  let ticks = 0;
  try {
    // Fields after the command name: state is the 1st, utime the 12th, stime the 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    ticks = Number(fields[11]) + Number(fields[12]);
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children ? children.split(' ') : []) ticks += treeTicks(Number(child));
  } catch {
    // The process (or a child) exited between the reads: its time is gone with it.
  }
  return ticks;
}

/** The machine's CPU time so far, in clock ticks: all of it, and the part spent idle (idle + iowait). */
export function machineTicks(): { readonly total: number; readonly idle: number } {
  // The first line of /proc/stat: "cpu  user nice system idle iowait irq softirq steal ...".
  const stat = readFileSync('/proc/stat', 'utf8');
  const fields = stat.slice(0, stat.indexOf('\n')).trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return { total, idle: fields[3]! + fields[4]! };
}

/** The share (0 to 1) of the machine's CPU that was busy between two `machineTicks` readings. */
export function busyShare(before: { readonly total: number; readonly idle: number }, after: { readonly total: number; readonly idle: number }): number {
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : Number.NaN;
}

/** The median of the samples (the upper one of an even count). */
export const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
