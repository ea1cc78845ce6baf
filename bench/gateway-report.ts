// The data-path benchmark's report: one Markdown table of medians over rounds, ratios taken within
// each round (a round measures every target within a minute or two, so a change in the machine's
// load moves both sides of a ratio) and then the median of those, and the targets checked.
import type { Target } from './gateway.js';
import { median } from './wrk.js';

export interface Round {
  readonly rps: number;
  /** µs, at c32. */
  readonly p50: number;
  readonly p99: number;
  /** µs, at c1. */
  readonly c1p50: number;
  readonly c1p99: number;
  /** µs of CPU a request, one per `target.cpu` entry. */
  readonly cpu: readonly number[];
  /**
   * Share of the whole machine's CPU (every core, every process: load generator, upstream, proxy)
   * busy during the c32 run: near 1, the machine and not the target set the rate.
   */
  readonly machineBusy: number;
  /** Answers other than the expected status, and socket errors, at c32 and c1. */
  readonly unexpected: number;
}

export interface TargetFigures {
  readonly target: Target;
  readonly rounds: Round[];
}

/** The CPU goal as a ratio: 90 µs a cached allow when the bare undici proxy took 52 µs. */
const CPU_RATIO_GOAL = 90 / 52;

const ms = (us: number): string => (us / 1000).toFixed(2);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The median over rounds of `f(this round, the reference's same round)`. */
function perRound(of: TargetFigures, ref: TargetFigures | undefined, f: (a: Round, b: Round) => number): number {
  if (ref === undefined) return Number.NaN;
  return median(of.rounds.map((r, i) => f(r, ref.rounds[i]!)));
}

/** The table and the targets, as lines of Markdown. */
export function formatTable(figures: readonly TargetFigures[]): string[] {
  const byRole = (role: Target['role']) => figures.find((f) => f.target.role === role);
  const direct = byRole('direct');
  const nginx = byRole('nginx');
  const undici = byRole('undici');
  const rps = (a: Round, b: Round): number => a.rps / b.rps;
  const lines = [
    '| target | c32 req/s | × undici | × nginx | p50 ms | p99 ms | c1 p50 ms | c1 added p50 ms | c1 p99 ms | CPU µs/request | machine busy | unexpected |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const f of figures) {
    const m = (pick: (r: Round) => number): number => median(f.rounds.map(pick));
    const cpu = f.target.cpu.map((p, i) => `${int(m((r) => r.cpu[i]!))} (${p.label})`).join(' + ');
    const added = f === direct ? '' : ms(perRound(f, direct, (a, b) => a.c1p50 - b.c1p50));
    const cells = [
      f.target.name,
      int(m((r) => r.rps)),
      perRound(f, undici, rps).toFixed(2),
      perRound(f, nginx, rps).toFixed(2),
      ms(m((r) => r.p50)),
      ms(m((r) => r.p99)),
      ms(m((r) => r.c1p50)),
      added,
      ms(m((r) => r.c1p99)),
      cpu,
      `${Math.round(m((r) => r.machineBusy) * 100)}%`,
      String(f.rounds.reduce((n, r) => n + r.unexpected, 0)),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  const allow = byRole('allow');
  if (allow === undefined) return lines;
  const checks: [string, number, string, boolean][] = [];
  const check = (what: string, value: number, goal: string, met: (v: number) => boolean): void => {
    checks.push([what, value, goal, met(value)]);
  };
  check('cached allow × undici (c32 req/s)', perRound(allow, undici, rps), '≥ 0.6 (stretch 0.85)', (v) => v >= 0.6);
  check('cached allow CPU µs a request', median(allow.rounds.map((r) => r.cpu[0]!)), '≤ 90', (v) => v <= 90);
  // The 90 µs goal was set on a host where the bare undici proxy took 52 µs a request; the same
  // goal as a ratio holds on a slower or busier host, where every process's µs grow together.
  check('cached allow CPU ÷ bare undici proxy CPU', perRound(allow, undici, (a, b) => a.cpu[0]! / b.cpu[0]!), `≤ ${CPU_RATIO_GOAL.toFixed(2)} (90 ÷ 52 µs)`, (v) => v <= CPU_RATIO_GOAL);
  check('cached allow c1 added p50 ms', perRound(allow, direct, (a, b) => a.c1p50 - b.c1p50) / 1000, '≤ 0.15', (v) => v <= 0.15);
  const baseline = byRole('baseline');
  if (baseline) {
    check('cached allow × baseline build (c32 req/s)', perRound(allow, baseline, rps), '> 1', (v) => v > 1);
    check('cached allow CPU ÷ baseline build CPU', perRound(allow, baseline, (a, b) => a.cpu[0]! / b.cpu[0]!), '< 1', (v) => v < 1);
  }
  const deny = byRole('deny');
  if (deny) check('deny × cached allow (c32 req/s)', perRound(deny, allow, rps), '≥ 2', (v) => v >= 2);
  const unauthenticated = byRole('unauthenticated');
  if (unauthenticated) check('401 × cached allow (c32 req/s)', perRound(unauthenticated, allow, rps), '≥ 3', (v) => v >= 3);
  const workers = byRole('workers');
  if (workers) check('--workers 2 × nginx (c32 req/s)', perRound(workers, nginx, rps), '≥ 0.5', (v) => v >= 0.5);
  lines.push('', '| target | measured | goal | met |', '| --- | ---: | --- | --- |');
  for (const [what, value, goal, met] of checks) lines.push(`| ${what} | ${value.toFixed(2)} | ${goal} | ${met ? 'yes' : 'no'} |`);
  return lines;
}
