// Which Host the operations listener answers to. A web page an operator opens can have its own
// name resolved to the operations address (DNS rebinding: `evil.example` → 127.0.0.1 once the
// page has loaded) and then read /readyz, /shadow, /metrics or an explained decision as its own
// origin. Such a request names the page's host, so the listener answers only a Host that is an IP
// address, `localhost`, or a name the configuration lists (`operations.hosts`). Probes and
// scrapers call by address.
import { isIP } from 'node:net';

/** The host of a Host value (`[::1]:8401` → `::1`, `Name.:8401` → `name`). */
function hostPart(value: string): string {
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    return end < 0 ? v : v.slice(1, end);
  }
  const colon = v.indexOf(':');
  // More than one colon: an IPv6 address without brackets, which isIP reads as it is.
  if (colon >= 0 && v.indexOf(':', colon + 1) >= 0) return v;
  const name = colon < 0 ? v : v.slice(0, colon);
  // `localhost.` is the fully qualified spelling of `localhost`, and so for every configured name.
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Builds the check from the configured names (`operations.hosts`, compared without case). */
export function operationsHosts(names: readonly string[]): (host: string | undefined) => boolean {
  const allowed = new Set(['localhost', ...names.map((n) => hostPart(n))]);
  return (host) => {
    if (host === undefined) return true;
    const name = hostPart(host);
    return isIP(name) !== 0 || allowed.has(name);
  };
}
