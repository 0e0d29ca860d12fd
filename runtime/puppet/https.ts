/**
 * The few HTTPS calls AutoAMI makes to Puppet Server and the PE console. Errors name the
 * method, URL and status only: passwords travel in bodies and tokens in headers, and
 * neither is ever put into a message.
 */
import { request, type Agent } from 'node:https';
import { PuppetApiError } from '../errors.ts';

export interface TlsMaterial {
  /** PEM contents, not paths. `cert`/`key` authenticate us; `ca` verifies the server. */
  readonly cert?: string;
  readonly key?: string;
  readonly ca?: string;
}

export interface HttpsCall {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  readonly url: URL;
  readonly tls?: TlsMaterial;
  /** Sent as application/json. */
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  readonly accept?: string;
  readonly timeoutMs?: number;
  /** A keep-alive agent for calls made often (catalog compiles); default a fresh connection. */
  readonly agent?: Agent;
}

export interface HttpsResponse {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
// Replies here are a CSR, a status or a group list; a runaway body is cut off.
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** `GET https://host:port/path`: what error messages call a request. */
export const describe = (call: Pick<HttpsCall, 'method' | 'url'>) => `${call.method} ${call.url.origin}${call.url.pathname}`;

export function httpsCall(call: HttpsCall): Promise<HttpsResponse> {
  const what = describe(call);
  const timeoutMs = call.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body = call.json === undefined ? undefined : Buffer.from(JSON.stringify(call.json));
  const headers: Record<string, string> = { Accept: call.accept ?? 'application/json', ...call.headers };
  if (body) Object.assign(headers, { 'Content-Type': 'application/json', 'Content-Length': String(body.length) });
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (action: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      action();
    };
    const fail = (message: string, cause?: unknown) => settle(() => reject(new PuppetApiError(`${what}: ${message}`, { url: call.url.href, cause })));
    // A fresh connection per call unless the caller pools: most calls are rare, and no pooled socket outlives a shutdown.
    const req = request(call.url, {
      method: call.method,
      headers,
      agent: call.agent ?? false,
      cert: call.tls?.cert,
      key: call.tls?.key,
      ca: call.tls?.ca,
    });
    const timer = setTimeout(() => {
      fail(`no reply within ${timeoutMs} ms`);
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail(error.code && !error.message.includes(error.code) ? `${error.message} (${error.code})` : error.message, error));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        chunks.push(chunk);
        if (size <= MAX_BODY_BYTES) return;
        fail(`reply larger than ${MAX_BODY_BYTES} bytes`);
        req.destroy();
      });
      res.on('error', (error) => fail(error.message, error));
      res.on('end', () =>
        settle(() => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') })),
      );
    });
    req.end(body);
  });
}

/** The server's own words on a failure, shortened: a JSON `msg` (PE), else the text (Puppet Server). */
function serverSays(res: HttpsResponse): string {
  let said = res.text.trim();
  try {
    const parsed = JSON.parse(said) as { msg?: unknown };
    if (typeof parsed?.msg === 'string') said = parsed.msg;
  } catch {
    // not JSON: the text as it came
  }
  said = said.replace(/\s+/g, ' ');
  return said.length > 200 ? `${said.slice(0, 200)}…` : said;
}

export function statusError(call: Pick<HttpsCall, 'method' | 'url'>, res: HttpsResponse, hint?: string): PuppetApiError {
  const said = serverSays(res);
  const message = `${describe(call)} answered ${res.status}${said ? `: ${said}` : ''}${hint ? ` (${hint})` : ''}`;
  return new PuppetApiError(message, { status: res.status, url: call.url.href });
}

export const ok = (res: HttpsResponse) => res.status >= 200 && res.status < 300;

export function parseJson<T>(call: Pick<HttpsCall, 'method' | 'url'>, res: HttpsResponse): T {
  try {
    return JSON.parse(res.text) as T;
  } catch (error) {
    throw new PuppetApiError(`${describe(call)} answered ${res.status} with a body that is not JSON`, { status: res.status, url: call.url.href, cause: error });
  }
}
