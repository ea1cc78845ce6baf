// A real gRPC client for the ext_authz server, loaded from the same proto/ files the server
// serves, as Envoy (or any client generated from Envoy's API) would call it.
import { Client as GrpcClient, credentials, loadPackageDefinition, Metadata, type CallOptions, type ChannelOptions, type Client, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { LOADER_OPTIONS, PROTO_FILES } from '../../src/extauthz/index.js';

type Unary<Req, Res> = (request: Req, metadata: Metadata, options: CallOptions, callback: (err: ServiceError | null, response?: Res) => void) => void;

/** A CheckResponse as the client decodes it. */
export interface CheckAnswer {
  readonly status?: { readonly code?: number; readonly message?: string };
  readonly http_response?: 'ok_response' | 'denied_response';
  readonly ok_response?: {
    readonly headers?: readonly { readonly header?: { readonly key?: string; readonly value?: string }; readonly append_action?: number }[];
    readonly headers_to_remove?: readonly string[];
  };
  readonly denied_response?: {
    readonly status?: { readonly code?: number };
    readonly headers?: readonly { readonly header?: { readonly key?: string; readonly value?: string } }[];
    readonly body?: string;
  };
}

export interface CheckCallOptions {
  readonly metadata?: Readonly<Record<string, string>>;
  readonly deadlineMs?: number;
}

export interface ExtAuthzClient {
  /** Calls Check, with `metadata` as the call's gRPC metadata (none by default) and a deadline `deadlineMs` from now (none by default). */
  check(request: unknown, options?: CheckCallOptions): Promise<CheckAnswer>;
  health(service: string): Promise<{ status?: number }>;
  close(): void;
}

function constructor(root: GrpcObject, path: readonly string[]): ServiceClientConstructor {
  let node: unknown = root;
  for (const part of path) node = (node as Record<string, unknown>)[part];
  return node as ServiceClientConstructor;
}

function call<Res>(client: Client, method: string, request: unknown, options: CheckCallOptions = {}): Promise<Res> {
  const fn = (client as unknown as Record<string, Unary<unknown, Res>>)[method]!.bind(client);
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(options.metadata ?? {})) metadata.add(key, value);
  const callOptions: CallOptions = options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
  return new Promise((resolve, reject) => fn(request, metadata, callOptions, (err, res) => (err ? reject(err) : resolve(res!))));
}

/**
 * Connects to `host:port` over plaintext loopback. grpc-js shares one HTTP/2 connection between
 * clients of the same target unless `ownConnection` gives the client a subchannel pool of its own.
 */
export function extAuthzClient(address: string, opts: { ownConnection?: boolean } = {}): ExtAuthzClient {
  const options: ChannelOptions = opts.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {};
  const root = loadPackageDefinition(loadSync([...PROTO_FILES], LOADER_OPTIONS));
  const Authorization = constructor(root, ['envoy', 'service', 'auth', 'v3', 'Authorization']);
  const Health = constructor(root, ['grpc', 'health', 'v1', 'Health']);
  const authz = new Authorization(address, credentials.createInsecure(), options);
  const health = new Health(address, credentials.createInsecure());
  return {
    check: (request, options) => call<CheckAnswer>(authz, 'Check', request, options),
    health: (service) => call<{ status?: number }>(health, 'Check', { service }),
    close() {
      authz.close();
      health.close();
    },
  };
}

/** The value of a header in a CheckResponse's header list. */
export function headerOf(headers: CheckAnswer['denied_response' | 'ok_response'], name: string): string | undefined {
  return headers?.headers?.find((h) => h.header?.key === name)?.header?.value;
}

/** Check's definition, for encoding a request and decoding an answer by hand. */
const CHECK = (loadSync([...PROTO_FILES], LOADER_OPTIONS)['envoy.service.auth.v3.Authorization'] as Record<string, MethodDefinition<unknown, CheckAnswer>>)['Check']!;

/** Calls Check with `bytes` sent as they are (valid protobuf or not) on a connection of its own, closed after the answer. */
export function checkBytes(address: string, bytes: Buffer): Promise<CheckAnswer> {
  const client = new GrpcClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<CheckAnswer>((resolve, reject) => {
    client.makeUnaryRequest<Buffer, CheckAnswer>('/envoy.service.auth.v3.Authorization/Check', (b) => b, CHECK.responseDeserialize, bytes, (err, res) => (err ? reject(err) : resolve(res!)));
  }).finally(() => client.close());
}

/**
 * Calls Check as a client-streaming method, sending each of `messages` as it is (so a call can carry
 * none, or several, as no unary client sends), on a connection of its own, closed after the answer.
 */
export function streamChecks(address: string, messages: readonly Buffer[]): Promise<CheckAnswer> {
  const client = new GrpcClient(address, credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<CheckAnswer>((resolve, reject) => {
    const call = client.makeClientStreamRequest<Buffer, CheckAnswer>('/envoy.service.auth.v3.Authorization/Check', (b) => b, CHECK.responseDeserialize, (err, res) => (err ? reject(err) : resolve(res!)));
    for (const message of messages) call.write(message);
    call.end();
  }).finally(() => client.close());
}

/** A plain HTTP/2 connection to the gRPC port, for what no gRPC client sends; resolves once the server's settings arrived. */
export async function http2Session(address: string): Promise<ClientHttp2Session> {
  const session = connect(`http://${address}`);
  session.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    session.once('remoteSettings', () => resolve());
    session.once('error', reject);
  });
  return session;
}

/** Opens a Check call on `session`, with `metadata` among its headers, and sends nothing yet. */
export function openCheckCall(session: ClientHttp2Session, metadata: Record<string, string> = {}): ClientHttp2Stream {
  const stream = session.request({ ':method': 'POST', ':path': '/envoy.service.auth.v3.Authorization/Check', 'content-type': 'application/grpc', te: 'trailers', ...metadata });
  stream.on('error', () => undefined);
  return stream;
}

/**
 * Opens a Check call on `session` and sends `message` in one gRPC frame that announces `announced`
 * bytes (its own length by default; more leaves the check unfinished), with `metadata` among the
 * call's headers, ending the call unless `end` is false.
 */
export function rawCheckCall(session: ClientHttp2Session, message: Buffer, o: { announced?: number; end?: boolean; metadata?: Record<string, string> } = {}): ClientHttp2Stream {
  const stream = openCheckCall(session, o.metadata);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(o.announced ?? message.length, 1);
  const frame = Buffer.concat([head, message]);
  if (o.end === false) stream.write(frame);
  else stream.end(frame);
  return stream;
}

/** Reads the answer of a call opened on a plain HTTP/2 stream: its gRPC status and, when it sent one, its CheckResponse. */
export function callAnswer(stream: ClientHttp2Stream): Promise<{ readonly status: string; readonly answer: CheckAnswer | undefined }> {
  const chunks: Buffer[] = [];
  let status = '';
  stream.on('response', (headers) => {
    if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
  });
  stream.on('trailers', (trailers) => {
    status = String(trailers['grpc-status']);
  });
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve) => {
    stream.once('close', () => {
      const bytes = Buffer.concat(chunks);
      const answer = bytes.length >= 5 ? CHECK.responseDeserialize(bytes.subarray(5, 5 + bytes.readUInt32BE(1))) : undefined;
      resolve({ status, answer });
    });
  });
}
