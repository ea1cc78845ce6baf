// The verified-token cache's size as Prometheus gauges, read from `cached()` at each scrape (no work
// on the request path), on the registry the caller gives (the gateway's own, per instance).
import { Gauge, type Registry } from 'prom-client';
import type { TokenAuthenticator } from './authenticator.js';

/** Registers the token cache gauges on `registry`; each scrape reads `cached()` once per gauge. */
export function registerTokenCacheMetrics(registry: Registry, authenticator: Pick<TokenAuthenticator, 'cached'>): void {
  const registers = [registry];
  new Gauge({
    name: 'iamgate_token_cache_entries',
    help: 'Verified tokens the authenticator keeps, by Authorization value (at most auth.tokenCacheEntries)',
    registers,
    collect() {
      this.set(authenticator.cached().entries);
    },
  });
  new Gauge({
    name: 'iamgate_token_cache_bytes',
    help: 'Bytes of the Authorization values the verified-token cache keeps (at most auth.tokenCacheBytes)',
    registers,
    collect() {
      this.set(authenticator.cached().bytes);
    },
  });
}
