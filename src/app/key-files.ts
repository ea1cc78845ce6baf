// Private key files the configuration names, checked for who else may read them. A key another
// user of the machine can read (mode o+r) is a key that user holds: iamgate says so at start, in
// its log and in /readyz's warnings, naming the key and its mode. It does not refuse to start:
// keys come from places whose modes iamgate does not choose (a Secret mounted with its default
// 0644, a config-management tool), and the group bits stay allowed, as a Kubernetes Secret read
// through fsGroup needs them (the chart mounts its keys 0440).
import { statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import type { IamgateConfig } from './config.js';

/** The private key files of a configuration, by the key that names them, resolved against its folder. */
function privateKeyFiles(config: IamgateConfig): [key: string, file: string][] {
  const base = config.file ? dirname(config.file) : process.cwd();
  const at = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  const files: [string, string][] = [];
  const { auth, audit, assertion } = config;
  if (auth.mfa.encryptionKeyFile !== undefined) files.push(['auth.mfa.encryptionKeyFile', at(auth.mfa.encryptionKeyFile)]);
  if (auth.sts.enabled) files.push(['auth.sts.signingKeyFile', at(auth.sts.signingKeyFile)]);
  auth.issuers.forEach((issuer, i) => {
    if (issuer.developmentKey && issuer.keyFile !== undefined) files.push([`auth.issuers[${i}].keyFile`, at(issuer.keyFile)]);
  });
  if (audit.signingKeyFile !== undefined) files.push(['audit.signingKeyFile', at(audit.signingKeyFile)]);
  if (assertion?.signingKeyFile !== undefined) files.push(['assertion.signingKeyFile', at(assertion.signingKeyFile)]);
  return files;
}

/** One warning per private key file that every user may read or write (a file not there yet is not checked). */
export function keyFileWarnings(config: IamgateConfig): string[] {
  const warnings: string[] = [];
  for (const [key, file] of privateKeyFiles(config)) {
    let mode: number;
    try {
      mode = statSync(file).mode & 0o777;
    } catch {
      continue; // generated later, or refused with its own error when read
    }
    if ((mode & 0o006) !== 0) {
      warnings.push(`${key}: ${file} is a private key that every user may ${mode & 0o002 ? 'write' : 'read'} (mode 0${mode.toString(8)}): chmod o-rw, or mount it with defaultMode 0400`);
    }
  }
  return warnings;
}
