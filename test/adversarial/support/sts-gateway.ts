// A real gateway with iamgate's STS turned on over a directory given as YAML, and the identity
// provider whose tokens it trusts: for suites that call the STS endpoints over real HTTP.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADVERSARIAL_FIXTURES } from './fixtures.js';
import { startIdp, type Idp } from './idp.js';
import { startRealGateway, type RealGateway } from './real-gateway.js';

export interface StsGateway {
  readonly gw: RealGateway;
  readonly idp: Idp;
  /** The directory file the gateway loaded. */
  readonly directory: string;
  close(): Promise<void>;
}

/** Writes the directory to a temporary folder and starts the gateway over it with the STS enabled. */
export async function startStsGateway(directoryYaml: string, o: { readonly logger?: Logger } = {}): Promise<StsGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'iamgate-sts-'));
  const directory = join(dir, 'directory.yaml');
  await writeFile(directory, directoryYaml);
  const idp = await startIdp();
  const gw = await startRealGateway({
    issuers: [idp.issuerConfig()],
    auth: { sts: { enabled: true } },
    files: { directory, routes: ADVERSARIAL_FIXTURES.routes },
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return {
    gw,
    idp,
    directory,
    async close() {
      await gw.close();
      await idp.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
