// Summarises a V8 CPU profile (`node --cpu-prof`) of iamgate under load: the self time of every
// sample within the busiest N seconds (the load, not the stop after it), grouped by area of the data path. A sample belongs to the
// innermost frame on its stack that is iamgate's or a library's code (so `writev` called while
// forwarding a response counts as proxying, and node's HTTP parser with nothing of ours above it
// as node's HTTP server). Run as `node dist-bench/bench/profile-summary.js FILE.cpuprofile [SECONDS]`.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Areas by where the code lives, first match wins; paths are those of dist/ and node_modules/. */
const AREAS: readonly (readonly [string, RegExp])[] = [
  ['metrics', /\/node_modules\/prom-client\/|\/dist\/.*(metrics|latency-histogram)\.js$/],
  ['proxy', /\/node_modules\/undici\/|\/dist\/proxy\/|\/dist\/gateway\/proxy[^/]*\.js$/],
  ['audit', /\/node_modules\/(pino|sonic-boom|thread-stream)|\/dist\/audit\/|\/dist\/gateway\/audit[^/]*\.js$/],
  ['hono', /\/node_modules\/(hono|@hono)\//],
  ['pipeline', /\/dist\//],
  ['other libraries', /\/node_modules\//],
];

/** The area of one frame's code, or undefined for node's own modules and native code. */
function areaOfUrl(url: string): string | undefined {
  return AREAS.find(([, re]) => re.test(url))?.[0];
}

const SPECIAL: ReadonlyMap<string, string> = new Map([
  ['(garbage collector)', 'gc'],
  ['(program)', 'native (unattributed)'],
  ['(idle)', 'idle'],
  ['(root)', 'idle'],
]);

/**
 * The start (µs, profile clock) of the `width` µs with the most busy samples: the load, not the
 * drain after it (a graceful stop can leave the profile's last seconds idle).
 */
function busiestWindowStart(profile: Profile, width: number, idle: (id: number) => boolean): number {
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) times.push((t += profile.timeDeltas[i] ?? 0));
  const busy = (i: number): number => (idle(profile.samples[i]!) ? 0 : (profile.timeDeltas[i + 1] ?? 0));
  let best = Math.max(profile.startTime, profile.endTime - width);
  let bestBusy = -1;
  let sum = 0;
  for (let lo = 0, hi = 0; lo < times.length; sum -= busy(lo), lo++) {
    for (; hi < times.length && times[hi]! < times[lo]! + width; hi++) sum += busy(hi);
    if (sum > bestBusy) [best, bestBusy] = [times[lo]!, sum];
  }
  return best;
}

/** Self time per area and per function over the busiest `seconds` of the profile. */
export function summarise(profile: Profile, seconds: number): { busyMs: number; idleMs: number; areas: Map<string, { ms: number; functions: Map<string, number> }> } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const areaCache = new Map<number, string>();
  const areaOf = (id: number): string => {
    const cached = areaCache.get(id);
    if (cached !== undefined) return cached;
    const frame = byId.get(id)!.callFrame;
    let area = SPECIAL.get(frame.functionName);
    for (let at: number | undefined = id; area === undefined && at !== undefined; at = parent.get(at)) area = areaOfUrl(byId.get(at)!.callFrame.url);
    // Nothing of ours on the stack: node's HTTP server when it is in the stack, else node itself.
    if (area === undefined) {
      area = 'node (other)';
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        if (byId.get(at)!.callFrame.url.startsWith('node:_http')) area = 'http server (node)';
      }
    }
    areaCache.set(id, area);
    return area;
  };
  const from = busiestWindowStart(profile, seconds * 1e6, (id) => areaOf(id) === 'idle');
  const areas = new Map<string, { ms: number; functions: Map<string, number> }>();
  let t = profile.startTime;
  let busyMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t >= from + seconds * 1e6) continue;
    // A sample stands for the time until the next one.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    const id = profile.samples[i]!;
    const area = areaOf(id);
    if (area === 'idle') {
      idleMs += ms;
      continue;
    }
    busyMs += ms;
    const entry = areas.get(area) ?? { ms: 0, functions: new Map<string, number>() };
    entry.ms += ms;
    const f = byId.get(id)!.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}`;
    entry.functions.set(name, (entry.functions.get(name) ?? 0) + ms);
    areas.set(area, entry);
  }
  return { busyMs, idleMs, areas };
}

const [file, secondsText] = process.argv.slice(2);
if (file !== undefined) {
  const seconds = Number(secondsText ?? '10');
  const { busyMs, idleMs, areas } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, seconds);
  const pct = (ms: number): string => `${((100 * ms) / busyMs).toFixed(1)}%`;
  console.log(`main thread over the busiest ${seconds} s: ${busyMs.toFixed(0)} ms busy, ${idleMs.toFixed(0)} ms idle; shares of the busy time:\n`);
  for (const [area, { ms, functions }] of [...areas].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(`${pct(ms).padStart(6)}  ${area}`);
    const top = [...functions].sort((a, b) => b[1] - a[1]).slice(0, 5);
    for (const [name, fms] of top) console.log(`          ${pct(fms).padStart(6)}  ${name}`);
  }
}
