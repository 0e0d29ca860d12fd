/**
 * `metrics.listen`: GET /metrics in the Prometheus text format, on exactly the configured
 * address and nowhere else. The sidecar's other interface is a Unix socket with group
 * permissions; this port has no authentication, so the example binds it to loopback.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { isIP } from 'node:net';
import { ConfigError } from './errors.ts';
import type { Logger } from './log.ts';
import type { Metrics } from './metrics.ts';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export interface MetricsConfig {
  /** Absent: no port is opened. */
  readonly listen: ListenAddress | undefined;
}

const KEY = 'metrics.listen';

/**
 * `HOST:PORT` with an IP address for HOST (IPv6 in brackets): a name could resolve to
 * another address than the operator meant to expose. Port 0 takes a free port (tests).
 */
function parseListen(value: unknown): ListenAddress {
  const refuse = (why: string) => new ConfigError(KEY, `${why}, got ${JSON.stringify(value)}`);
  if (typeof value !== 'string') throw refuse('expected HOST:PORT, e.g. 127.0.0.1:9777');
  const match = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  if (!match) throw refuse('expected HOST:PORT, e.g. 127.0.0.1:9777');
  const host = match[1] ?? match[2] ?? '';
  if (match[1] !== undefined ? isIP(host) !== 6 : isIP(host) !== 4) throw refuse('expected an IP address as HOST ([…] for IPv6)');
  const port = Number(match[3]);
  if (port > 65535) throw refuse('expected a port from 0 to 65535');
  return { host, port };
}

/** The `metrics` section of the config, its unknown keys already refused. */
export function metricsConfig(section: Record<string, unknown> | undefined): MetricsConfig {
  const listen = section?.listen;
  return { listen: listen === undefined || listen === null ? undefined : parseListen(listen) };
}

export interface MetricsServer {
  /** As bound: the port is the real one when the config said 0. */
  readonly address: ListenAddress;
  readonly url: string;
  close(): Promise<void>;
}

function answer(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  response.end(text);
}

/** Null when the config opens no port. */
export async function serveMetrics(config: MetricsConfig, metrics: Metrics, log: Logger): Promise<MetricsServer | null> {
  const { listen } = config;
  if (!listen) return null;
  const connections = new Set<Socket>();
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') return answer(response, 404, 'not found: metrics are at /metrics\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') return answer(response, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
    metrics.text().then(
      (text) => {
        response.writeHead(200, { 'content-type': metrics.contentType });
        response.end(request.method === 'HEAD' ? undefined : text);
      },
      (error: unknown) => {
        log.warn('cannot collect metrics', { error: error instanceof Error ? error.message : String(error) });
        answer(response, 500, 'cannot collect metrics\n');
      },
    );
  });
  server.on('connection', (socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: NodeJS.ErrnoException) => reject(new ConfigError(KEY, `cannot listen on ${format(listen)}: ${error.code ?? error.message}`, error));
    server.once('error', refuse);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  // Once listening, a failure here must not take the sidecar down: scrapes are not its job.
  server.on('error', (error) => log.warn('metrics server error', { error: error.message }));
  const bound = server.address();
  const address = { host: listen.host, port: typeof bound === 'object' && bound !== null ? bound.port : listen.port };
  const url = `http://${format(address)}/metrics`;
  log.info('serving metrics', { url });
  return {
    address,
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // A scraper's kept-alive connection would hold the stop until it hung up.
        for (const socket of connections) socket.destroy();
      }),
  };
}

function format({ host, port }: ListenAddress): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}
