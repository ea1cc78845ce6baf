// The `redis` section: a URL, Redis Sentinel (as the Helm chart writes it), and Redis Cluster,
// which iamgate refuses with a reason rather than connecting in a way its users cannot work with.
import { describe, expect, it } from 'vitest';
import { formatProblems, readConfig } from '../../src/config/index.js';

function problems(redis: unknown, env: Record<string, string> = {}): string[] {
  const r = readConfig({ version: 1, redis }, env, '/etc/iamgate/iamgate.yaml');
  return r.ok ? [] : formatProblems(r.problems);
}

describe('the redis section', () => {
  it('reads Sentinel settings as the chart writes them, beside a URL for credentials', () => {
    const r = readConfig(
      { version: 1, redis: { sentinel: { masterName: 'mymaster', nodes: ['redis-sentinel-0.redis.svc:26379', '10.0.0.7:26380', '[fd00::7]:26379'] } } },
      { REDIS_URL: 'redis://:secret@ignored-host:6379/2' },
      undefined,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.redis).toEqual({
      url: 'redis://:secret@ignored-host:6379/2',
      sentinel: {
        masterName: 'mymaster',
        nodes: [
          { host: 'redis-sentinel-0.redis.svc', port: 26379 },
          { host: '10.0.0.7', port: 26380 },
          { host: 'fd00::7', port: 26379 },
        ],
      },
    });
  });

  it('has no Sentinel unless one is configured', () => {
    const r = readConfig({ version: 1, redis: { url: 'redis://127.0.0.1:6379' } }, {}, undefined);
    expect(r.ok && r.config.redis).toEqual({ url: 'redis://127.0.0.1:6379', sentinel: undefined });
  });

  it('lists every mistake in Sentinel settings with its key', () => {
    const found = problems({ sentinel: { masterName: '', nodes: ['sentinel-0', 'host:0', 'host:26379', 7], extra: true } }).join('\n');
    expect(found).toContain('redis.sentinel.masterName: ');
    expect(found).toContain('redis.sentinel.nodes[0]: must be "host:port"');
    expect(found).toContain('redis.sentinel.nodes[1]: ');
    expect(found).not.toContain('redis.sentinel.nodes[2]');
    expect(found).toContain('redis.sentinel.nodes[3]: ');
    expect(found).toContain('redis.sentinel.extra: unknown key');
    expect(problems({ sentinel: { masterName: 'mymaster', nodes: [] } }).join('\n')).toContain('redis.sentinel.nodes: must list at least one sentinel');
  });

  it('refuses Redis Cluster, saying why and what to use instead', () => {
    const found = problems({ url: 'redis://127.0.0.1:6379', cluster: { nodes: ['redis-0:6379'] } });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/redis\.cluster: Redis Cluster is not supported: .*standalone Redis \(redis\.url\) or Redis Sentinel \(redis\.sentinel\)/);
  });
});
