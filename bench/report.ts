// Shared output for benchmarks: one table per group, figures rounded for reading.
export interface BenchResult {
  readonly name: string;
  readonly opsPerSec: number;
  readonly p50us?: number;
  readonly p99us?: number;
  readonly note?: string;
}

/** The q-quantile of sorted samples. */
export function percentile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN;
}

/** Prints a benchmark group as a Markdown table, ready to paste into docs/benchmarks.md. */
export function report(group: string, results: readonly BenchResult[]): void {
  console.log(`\n## ${group}\n`);
  console.log('| case | ops/s | p50 µs | p99 µs | note |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const r of results) {
    const fmt = (v: number | undefined) => (v === undefined ? '' : v.toFixed(2));
    console.log(`| ${r.name} | ${Math.round(r.opsPerSec).toLocaleString('en-US')} | ${fmt(r.p50us)} | ${fmt(r.p99us)} | ${r.note ?? ''} |`);
  }
}
