// A tiny "orders" service for the quick start: what iamgate protects in `iamgate serve --demo`.
// It trusts the identity headers iamgate sets, as a service behind iamgate does.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface Order {
  readonly id: string;
  readonly item: string;
  readonly quantity: number;
  readonly status: string;
  readonly createdBy: string;
}

export interface DemoUpstream {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 64 * 1024;

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > MAX_BODY) req.destroy();
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(text) as unknown);
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

/** Starts the demo orders service; resolves once it listens. */
export async function startDemoUpstream(options: { host?: string; port?: number } = {}): Promise<DemoUpstream> {
  const orders = new Map<string, Order>([
    ['1', { id: '1', item: 'book', quantity: 2, status: 'open', createdBy: 'arn:aws:iam::111122223333:user/engineering/alice' }],
    ['2', { id: '2', item: 'lamp', quantity: 1, status: 'shipped', createdBy: 'arn:aws:iam::111122223333:user/engineering/carol' }],
  ]);
  let next = 3;

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://demo');
    const caller = req.headers['x-iamgate-principal'] ?? 'anonymous';
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts[0] !== 'orders' || parts.length > 2) {
      send(res, 404, { error: 'NotFound' });
      return;
    }
    const id = parts[1];
    if (id === undefined && req.method === 'GET') {
      const status = url.searchParams.get('status');
      send(res, 200, { orders: [...orders.values()].filter((o) => status === null || o.status === status), servedTo: caller });
      return;
    }
    if (id === undefined && req.method === 'POST') {
      void readJson(req).then((body) => {
        const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
        const order: Order = {
          id: String(next++),
          item: typeof b['item'] === 'string' ? b['item'] : 'unknown',
          quantity: typeof b['quantity'] === 'number' ? b['quantity'] : 1,
          status: 'open',
          createdBy: String(caller),
        };
        orders.set(order.id, order);
        send(res, 201, order);
      });
      return;
    }
    const order = id === undefined ? undefined : orders.get(id);
    if (!order) {
      send(res, 404, { error: 'NotFound', id });
      return;
    }
    if (req.method === 'GET') send(res, 200, { ...order, servedTo: caller });
    else if (req.method === 'DELETE') {
      orders.delete(order.id);
      send(res, 204);
    } else send(res, 405, { error: 'MethodNotAllowed' });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8402, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.address}:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
