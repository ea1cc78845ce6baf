// Copies the test fixtures that benchmarks load at run time next to the compiled benchmarks
// (tsc emits only code into dist-bench/).
import { cpSync } from 'node:fs';

for (const dir of ['test/gateway/fixtures', 'test/audit/fixtures', 'proto']) {
  cpSync(dir, `dist-bench/${dir}`, { recursive: true });
}
