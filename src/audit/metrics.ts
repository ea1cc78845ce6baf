// The audit log's counters as Prometheus metrics, read from `AuditLog.stats()` at each scrape (no
// work on the request path), on the registry the caller gives (the gateway's own, per instance).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { AuditLogStats } from './log.js';

/** Registers the audit metrics on `registry`; each scrape reads `stats()` once per metric. */
export function registerAuditMetrics(registry: Registry, stats: () => AuditLogStats): void {
  const registers = [registry];
  new Counter({
    name: 'iamgate_audit_events_total',
    help: 'Audit events by result: recorded (accepted into the chain) or refused (a refusing sink could not take them; the request was answered 503)',
    labelNames: ['result'],
    registers,
    collect() {
      const s = stats();
      this.reset();
      this.inc({ result: 'recorded' }, s.recorded);
      this.inc({ result: 'refused' }, s.refused);
    },
  });
  new Counter({
    name: 'iamgate_audit_sink_records_total',
    help: 'Audit records per sink by result: written (taken by the destination) or dropped (given up at the bound)',
    labelNames: ['sink', 'result'],
    registers,
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(stats().sinks)) {
        this.inc({ sink, result: 'written' }, s.written);
        this.inc({ sink, result: 'dropped' }, s.dropped);
      }
    },
  });
  new Counter({
    name: 'iamgate_audit_sink_write_failures_total',
    help: 'Failed audit writes per sink (each retried)',
    labelNames: ['sink'],
    registers,
    collect() {
      this.reset();
      for (const [sink, s] of Object.entries(stats().sinks)) this.inc({ sink }, s.failures);
    },
  });
  new Gauge({
    name: 'iamgate_audit_sink_buffered',
    help: 'Audit records accepted but not yet written, per sink',
    labelNames: ['sink'],
    registers,
    collect() {
      for (const [sink, s] of Object.entries(stats().sinks)) this.set({ sink }, s.buffered);
    },
  });
  new Gauge({
    name: 'iamgate_audit_sink_healthy',
    help: '1 while the sink writes, 0 from a failed write until the next successful one',
    labelNames: ['sink'],
    registers,
    collect() {
      for (const [sink, s] of Object.entries(stats().sinks)) this.set({ sink }, s.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'iamgate_audit_chain_head_seq',
    help: 'Sequence number through which every sink has written this process\'s audit chain: kept by the scraper, outside the trail, it shows a tail cut from the trail (audit verify --head)',
    labelNames: ['instance_id'],
    registers,
    collect() {
      const { head } = stats();
      this.reset();
      this.set({ instance_id: head.instanceId }, head.seq);
    },
  });
  new Gauge({
    name: 'iamgate_audit_follow_ups_queued',
    help: 'Outcome records (audit_unavailable) waiting to follow decision records whose write failed, until every refusing sink accepts records again',
    registers,
    collect() {
      this.set(stats().followUps.queued);
    },
  });
  new Counter({
    name: 'iamgate_audit_follow_ups_dropped_total',
    help: 'Outcome records (audit_unavailable) given up: the queue was full, or a sink still refused records when the log closed',
    registers,
    collect() {
      this.reset();
      this.inc(stats().followUps.dropped);
    },
  });
  new Counter({
    name: 'iamgate_audit_digests_total',
    help: 'Signed digest records written',
    registers,
    collect() {
      this.reset();
      this.inc(stats().digests);
    },
  });
}
