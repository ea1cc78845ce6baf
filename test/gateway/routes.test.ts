import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { normalizeTarget } from '../../src/gateway/path.js';
import { parseRouteMapText, type CompiledRouteMap } from '../../src/gateway/routes/index.js';

const MAP = `
version: 1
service: orders
arnPrefix: "arn:aws:orders:us-east-1:111122223333:"
routes:
  - route: GET /orders
    action: orders:ListOrders
    resource: order/*
  - route: GET /orders/:id
    action: orders:GetOrder
    resource: order/\${id}
    context:
      orders:View: { query: view }
      orders:Client: { header: X-Client }
  - route: GET /orders/export
    action: orders:ExportOrders
    resource: export/all
  - route: GET /orders/:id/items/:item
    action: orders:GetItem
    resource: order/\${id}/item/\${item}
  - route: DELETE /orders/:id
    action: orders:DeleteOrder
    resource: arn:aws:orders:us-east-1:111122223333:order/\${id}
  - route: GET /files/*rest
    action: orders:GetFile
    resource: file/\${rest}
  - route: ANY /admin/*
    action: orders:Admin
    resource: admin
`;

function compile(text: string): CompiledRouteMap {
  const { routes, findings } = parseRouteMapText(text, 'routes.yaml');
  expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
  return routes!;
}

function match(map: CompiledRouteMap, method: string, raw: string) {
  const r = normalizeTarget(raw);
  if (!r.ok) throw new Error(r.reason);
  return map.match(method, r.target.segments, r.target.path);
}

describe('route map', () => {
  const map = compile(MAP);

  it('maps a method and path to an action and a filled resource ARN', () => {
    expect(match(map, 'GET', '/orders/42')).toMatchObject({
      action: 'orders:GetOrder',
      resource: 'arn:aws:orders:us-east-1:111122223333:order/42',
      route: 'GET /orders/:id',
      params: new Map([['id', '42']]),
    });
    expect(match(map, 'GET', '/orders')?.action).toBe('orders:ListOrders');
    expect(match(map, 'DELETE', '/orders/7')?.resource).toBe('arn:aws:orders:us-east-1:111122223333:order/7');
  });

  it('prefers a literal segment over a parameter, and backtracks when the literal leads nowhere', () => {
    expect(match(map, 'GET', '/orders/export')?.action).toBe('orders:ExportOrders');
    expect(match(map, 'GET', '/orders/export/items/3')).toMatchObject({ action: 'orders:GetItem', resource: 'arn:aws:orders:us-east-1:111122223333:order/export/item/3' });
  });

  it('captures the rest of the path in a named wildcard, decoded', () => {
    expect(match(map, 'GET', '/files/a/b%20c/d.txt')).toMatchObject({ action: 'orders:GetFile', resource: 'arn:aws:orders:us-east-1:111122223333:file/a/b c/d.txt' });
    expect(match(map, 'GET', '/files')).toBeUndefined();
  });

  it('decodes parameters for the ARN', () => {
    expect(match(map, 'GET', '/orders/caf%C3%A9')?.resource).toBe('arn:aws:orders:us-east-1:111122223333:order/café');
  });

  it('answers HEAD with GET routes and ANY routes for every method', () => {
    expect(match(map, 'HEAD', '/orders/1')?.action).toBe('orders:GetOrder');
    expect(match(map, 'PATCH', '/admin/x')?.action).toBe('orders:Admin');
    expect(match(map, 'GET', '/admin/x/y')?.action).toBe('orders:Admin');
  });

  it('leaves unmatched requests unmatched: wrong method, extra segment, trailing slash, other case', () => {
    expect(match(map, 'POST', '/orders/1')).toBeUndefined();
    expect(match(map, 'GET', '/orders/1/extra')).toBeUndefined();
    expect(match(map, 'GET', '/orders/')).toBeUndefined();
    expect(match(map, 'GET', '/ORDERS/1')).toBeUndefined();
    expect(match(map, 'GET', '/')).toBeUndefined();
  });

  it('lists the extra condition keys a route reads', () => {
    expect(match(map, 'GET', '/orders/1')?.context).toEqual([
      { key: 'orders:View', from: 'query', name: 'view' },
      { key: 'orders:Client', from: 'header', name: 'x-client' },
    ]);
  });

  it('matches literals case-insensitively when the map says so', () => {
    const ci = compile(MAP.replace('routes:', 'caseSensitive: false\nroutes:'));
    expect(match(ci, 'GET', '/ORDERS/Ab')).toMatchObject({ action: 'orders:GetOrder', params: new Map([['id', 'Ab']]) });
  });

  it('maps unmatched requests to service:Method on the path when the fallback is on', () => {
    const fb = compile(MAP.replace('routes:', 'unmatched: { mode: map, resource: "path${path}" }\nroutes:'));
    expect(match(fb, 'POST', '/reports/x')).toEqual({
      action: 'orders:Post',
      resource: 'arn:aws:orders:us-east-1:111122223333:path/reports/x',
      route: undefined,
      params: new Map(),
      context: [],
    });
  });
});

describe('route map validation', () => {
  it('reports every problem with its path, not just the first', () => {
    const { routes, findings } = parseRouteMapText(
      `
version: 2
service: Orders
extra: 1
unmatched: sometimes
routes:
  - route: GET orders
    action: orders:Get*
    resource: order/\${nope}
  - route: GET /a/:id
    action: orders:A
    resource: "arn:aws:orders:::a/\${id}"
  - route: GET /a/:other
    action: billing:A
    resource: "arn:aws:orders:::a/\${other}"
    context:
      aws:SourceIp: { query: ip }
      orders:X: { header: Authorization }
      orders:Y: { cookie: y }
      orders:Z: { header: X_Client_Id }
  - route: GET /b/*rest/c
    action: orders:B
    resource: b
  - route: GET /c/%2e%2e
    action: orders:C
    resource: not-an-arn
  - just a string
`,
      'routes.yaml',
    );
    expect(routes).toBeUndefined();
    const got = findings.map((f) => `${f.severity} ${f.code} ${f.path}`);
    expect(got).toEqual(
      expect.arrayContaining([
        'error UNKNOWN_KEY extra',
        'error INVALID_VALUE version',
        'error INVALID_VALUE service',
        'error INVALID_VALUE unmatched',
        'error ROUTE_PATTERN routes[0].route',
        'error ROUTE_ACTION routes[0].action',
        'error ROUTE_DUPLICATE routes[2].route',
        'warning ROUTE_SERVICE_MISMATCH routes[2].action',
        'error ROUTE_CONTEXT_KEY routes[2].context.aws:SourceIp',
        'error ROUTE_CONTEXT_KEY routes[2].context.orders:X.header',
        'error EXCLUSIVE_KEYS routes[2].context.orders:Y',
        'error ROUTE_CONTEXT_KEY routes[2].context.orders:Z.header',
        'error ROUTE_PATTERN routes[3].route',
        'error ROUTE_PATTERN routes[4].route',
        'error DATA_TYPE_MISMATCH routes[5]',
      ]),
    );
    expect(findings.every((f) => f.file === 'routes.yaml')).toBe(true);
  });

  it('reports an unknown template variable and a resource that is not an ARN', () => {
    const { findings } = parseRouteMapText(`
version: 1
service: orders
routes:
  - route: GET /x/:id
    action: orders:X
    resource: "arn:aws:orders:::x/\${nope}"
  - route: GET /y
    action: orders:Y
    resource: y
`);
    expect(findings.map((f) => [f.code, f.path])).toEqual([
      ['ROUTE_VARIABLE', 'routes[0].resource'],
      ['ROUTE_RESOURCE', 'routes[1].resource'],
    ]);
  });

  it('reports YAML syntax errors with their line', () => {
    const { routes, findings } = parseRouteMapText('version: 1\nroutes: [\n', 'r.yaml');
    expect(routes).toBeUndefined();
    expect(findings[0]).toMatchObject({ severity: 'error', code: 'YAML_SYNTAX_ERROR', file: 'r.yaml' });
    expect(findings[0]!.message).toMatch(/line \d+/);
  });
});

describe('iamgate validate on route maps', () => {
  it('names the file, the path and the reason, and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'iamgate-routes-'));
    try {
      const file = join(dir, 'routes.yaml');
      await writeFile(file, 'version: 1\nservice: orders\nroutes:\n  - route: GET /x/:id\n    action: orders:X\n    resource: "arn:aws:orders:::x/${nope}"\n');
      const out: string[] = [];
      const code = await runCli(['validate', file], { stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
      expect(code).toBe(1);
      expect(out.join('\n')).toMatch(new RegExp(`${file}.*ROUTE_VARIABLE.*routes\\[0\\]\\.resource`));
      const good = await runCli(['validate', fileURLToPath(new URL('../../policies/routes.yaml', import.meta.url))], { stdout: () => undefined, stderr: () => undefined });
      expect(good).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
