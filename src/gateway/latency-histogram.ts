// Latency histograms that cost the request path what a counter costs: an observation finds its
// bucket in one fixed array of bounds and adds to plain numbers of a series bound once per label
// value (no label object kept, no label-set hashing, no validation). The registry reads the
// series when /metrics is scraped and writes them as prom-client's own histograms would: the
// same names, help, label order, `le` bounds, cumulative buckets, `_sum` and `_count`.
import type { Metric, Registry } from 'prom-client';

/** A histogram without labels, or one label value's series of a labelled one. */
export interface LatencyHistogram {
  /** Counts one duration in seconds (a finite number). */
  observe(seconds: number): void;
}

/** A histogram with one label: a series per value, in the order the values were first observed. */
export interface LabelledLatencyHistogram<L extends string> {
  /** Counts one duration for the series of `labels` (prom-client's call shape). */
  observe(labels: Readonly<Record<L, string>>, seconds: number): void;
  /** The series of one label value, for callers that bind it once. */
  labels(value: string): LatencyHistogram;
}

/** One exposition sample, in the shape prom-client's histograms return from `get()`. */
interface Sample {
  readonly value: number;
  readonly metricName: string;
  readonly exemplar: null | undefined;
  readonly labels: Record<string, string | number>;
}

/** One series: a count per bucket (not cumulative; above the last bound only in `count`), their sum and count. */
class Series implements LatencyHistogram {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly bounds: readonly number[],
    readonly labels: Readonly<Record<string, string>>,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`a duration must be a finite number of seconds, not ${seconds}`);
    const bounds = this.bounds;
    let i = 0;
    // A bucket's bound is inclusive (`le`), as in Prometheus.
    while (i < bounds.length && seconds > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]! += 1;
    this.sum += seconds;
    this.count += 1;
  }

  /** The series' samples as prom-client writes them: each bucket, `+Inf`, `_sum`, `_count`. */
  samples(name: string): Sample[] {
    const out: Sample[] = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      out.push({ value: cumulative, metricName: `${name}_bucket`, exemplar: null, labels: { le: this.bounds[i]!, ...this.labels } });
    }
    out.push({ value: this.count, metricName: `${name}_bucket`, exemplar: null, labels: { le: '+Inf', ...this.labels } });
    out.push({ value: this.sum, metricName: `${name}_sum`, exemplar: undefined, labels: { ...this.labels } });
    out.push({ value: this.count, metricName: `${name}_count`, exemplar: undefined, labels: { ...this.labels } });
    return out;
  }
}

interface HistogramOptions {
  readonly name: string;
  readonly help: string;
  readonly buckets: readonly number[];
  readonly registry: Registry;
}

/** What the registry reads at a scrape; it takes any metric object of this shape. */
class ScrapedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly onReset: (h: ScrapedHistogram) => void,
  ) {}

  get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] }> {
    const values: Sample[] = [];
    for (const s of this.series.values()) values.push(...s.samples(this.name));
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values });
  }

  /** Starts over (`registry.resetMetrics()`); a series bound before keeps counting apart. */
  reset(): void {
    this.series.clear();
    this.onReset(this);
  }
}

/** Registers the scrape-time reader of a histogram on the options' registry (bounds checked once, here). */
function register(o: HistogramOptions, onReset: (h: ScrapedHistogram) => void): ScrapedHistogram {
  if (o.buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= o.buckets[i - 1]!))) throw new TypeError(`${o.name}: buckets must be finite and increasing`);
  const h = new ScrapedHistogram(o.name, o.help, onReset);
  // prom-client's types list only its own metric classes; its registry needs name, type, get() and reset().
  o.registry.registerMetric(h as unknown as Metric);
  return h;
}

/** A histogram without labels on `registry` (its one series shown from the start, as prom-client does). */
export function createLatencyHistogram(o: HistogramOptions): LatencyHistogram {
  const bounds = [...o.buckets];
  let only: Series;
  const start = (h: ScrapedHistogram): void => {
    only = new Series(bounds, {});
    h.series.set('', only);
  };
  start(register(o, start));
  return { observe: (seconds) => only.observe(seconds) };
}

/**
 * A histogram with one label on `registry`: a value's series is made on its first observation (a
 * value bound but never observed is not shown, as with prom-client).
 */
export function createLabelledLatencyHistogram<L extends string>(o: HistogramOptions & { readonly label: L }): LabelledLatencyHistogram<L> {
  const bounds = [...o.buckets];
  const h = register(o, () => undefined);
  const seriesOf = (value: string): Series => {
    let s = h.series.get(value);
    if (s === undefined) {
      s = new Series(bounds, { [o.label]: value });
      h.series.set(value, s);
    }
    return s;
  };
  return {
    observe: (labels, seconds) => seriesOf(labels[o.label]).observe(seconds),
    labels(value) {
      let bound: Series | undefined;
      return { observe: (seconds) => (bound ??= seriesOf(value)).observe(seconds) };
    },
  };
}
