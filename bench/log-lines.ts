// The operational log's per-line cost of redaction (src/app/log-redaction.ts): pino writing typical
// lines to a sink that drops them, fitted as every line is, with and without the redaction of
// tokens, TOTP codes and two configured secrets. CPU time (process.cpuUsage), the best of several
// rounds, so that other work on a shared machine counts as little as it can. Figures:
// docs/benchmarks.md, "Log lines".
import { pino } from 'pino';
import { createLogger } from '../src/app/index.js';
import { fitLine } from '../src/app/log-line.js';
import { report, type BenchResult } from './report.js';

const LINES = 50_000;
const ROUNDS = 15;
const SECRETS = ['c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=', 'hunter2-redis-password'];
const CAUSE = 'other side closed: SocketError: other side closed\n    at Socket.onHttpSocketEnd (node_modules/undici/lib/dispatcher/client-h1.js:917:22)\n    at Socket.emit (node:events:530:35)';

/** The lines benchmarked: a refusal's detail (written for every refused request at the default level) and a forwarding failure with its cause. */
const CASES: Record<string, (log: pino.Logger) => void> = {
  'request rejected': (log) => log.info({ requestId: '6f1c2a3b-1234-4567-8901-00000000abcd', code: 'token_issuer_unknown', detail: 'issuer "https://idp.example.com/tenant/42" is not configured' }, 'request rejected'),
  'forwarding failed': (log) => log.warn({ requestId: '6f1c2a3b-1234-4567-8901-00000000abcd', failure: 'reset', cause: CAUSE }, 'forwarding failed'),
};

/** CPU nanoseconds per line, the best of ROUNDS. */
function cpuPerLine(log: pino.Logger, write: (log: pino.Logger) => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let i = 0; i < LINES; i++) write(log);
    const used = process.cpuUsage(start);
    best = Math.min(best, ((used.user + used.system) * 1000) / LINES);
  }
  return best;
}

export function runLogLinesBench(): void {
  const dropped = { write: (_line: string): void => undefined };
  const redacting = createLogger('info', dropped, SECRETS);
  // The logger as it was before redaction: the same options, lines only fitted.
  const fittedOnly = pino({ level: 'info', base: { service: 'iamgate' }, hooks: { streamWrite: fitLine } }, dropped);
  const results: BenchResult[] = [];
  for (const [name, write] of Object.entries(CASES)) {
    const plain = cpuPerLine(fittedOnly, write);
    const redacted = cpuPerLine(redacting, write);
    results.push({ name: `${name}, fitted only`, opsPerSec: 1e9 / plain, p50us: plain / 1000, note: 'CPU µs a line (best of rounds) in the p50 column' });
    results.push({ name: `${name}, redacted and fitted`, opsPerSec: 1e9 / redacted, p50us: redacted / 1000, note: `+${((redacted - plain) / 1000).toFixed(2)} µs a line` });
  }
  report('Log lines: redaction per line', results);
}
