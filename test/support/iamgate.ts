// The one way tests assemble a gateway: a configuration document read as iamgate reads it, and
// createIamgate, as `iamgate serve` calls it, with the parts a suite replaces (audit sink, clock,
// authenticator, policy loader) given as deps. The suites' own helpers (test gateway, adversarial
// real gateway, served replicas) are thin wrappers over this.
import { pino } from 'pino';
import { createIamgate, readConfig, type Iamgate, type IamgateConfig, type IamgateDeps } from '../../src/app/index.js';

export interface IamgateTestOptions {
  /** The configuration document (as YAML would give it). */
  readonly doc: Record<string, unknown>;
  /** Environment overrides (REDIS_URL, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Adjusts the typed configuration before anything is built (fields a document cannot hold). */
  readonly adjust?: (config: IamgateConfig) => IamgateConfig;
  readonly deps?: IamgateDeps;
  /** Do not wait for the first policy load. */
  readonly noWait?: boolean;
}

/** Builds iamgate from the document and waits for its first policy load (unless `noWait`). */
export async function startIamgate(o: IamgateTestOptions): Promise<{ iamgate: Iamgate; config: IamgateConfig }> {
  const read = readConfig(o.doc, o.env ?? {}, undefined);
  if (!read.ok) throw new Error(`test config invalid: ${JSON.stringify(read.problems)}`);
  const config = o.adjust ? o.adjust(read.config) : read.config;
  const iamgate = await createIamgate(config, { logger: pino({ level: process.env['IAMGATE_TEST_LOG'] ?? 'silent' }), ...o.deps });
  if (!o.noWait) {
    const first = await iamgate.gateway.initialLoad;
    if (!first.ok) {
      await iamgate.stop(0);
      throw new Error(`test policies failed to load: ${first.problems.join('; ')}`);
    }
  }
  return { iamgate, config };
}
