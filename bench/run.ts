// `npm run bench`: every benchmark group, or those named on the command line (e.g. `policy`). The
// soak runs only when named (`npm run bench -- soak`): it takes ten minutes. Options (`--quick`)
// are read by the groups themselves.
import { runAuditBench } from './audit.js';
import { runAuditGatewayBench } from './audit-gateway.js';
import { runCacheBench } from './cache.js';
import { runExtAuthzBench } from './extauthz.js';
import { runGatewayBench } from './gateway.js';
import { runLogLinesBench } from './log-lines.js';
import { runPipelineBench } from './pipeline.js';
import { runPolicyBench } from './policy.js';
import { runProxyBench } from './proxy.js';
import { runSoak } from './soak.js';

const groups: Record<string, () => void | Promise<void>> = {
  policy: runPolicyBench,
  audit: runAuditBench,
  proxy: runProxyBench,
  'audit-gateway': runAuditGatewayBench,
  cache: runCacheBench,
  gateway: runGatewayBench,
  extauthz: runExtAuthzBench,
  pipeline: runPipelineBench,
  'log-lines': runLogLinesBench,
};

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));
for (const [name, run] of Object.entries(groups)) {
  if (wanted.length === 0 || wanted.includes(name)) await run();
}
if (wanted.includes('soak')) await runSoak();
