/**
 * JSON-RPC 2.0 framing: one UTF-8 JSON object per line. Parsing never throws; every bad
 * input becomes an error response the server can send while it goes on serving.
 */
import { AutoamiError, ErrorCode } from './errors.ts';

export const MAX_LINE_BYTES = 1024 * 1024;

export type RequestId = string | number | null;

export interface Request {
  readonly id: RequestId;
  readonly method: string;
  readonly params: unknown;
  /** Notifications (no id) get no response. */
  readonly notification: boolean;
}

export type Parsed = { readonly ok: true; readonly request: Request } | { readonly ok: false; readonly id: RequestId; readonly error: AutoamiError };

function isId(value: unknown): value is RequestId {
  return value === null || typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
}

function invalid(id: RequestId, field: string, text: string): Parsed {
  return { ok: false, id, error: new AutoamiError(ErrorCode.InvalidRequest, `invalid request: ${field} ${text}`, { data: { field } }) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseLine(line: Buffer | string): Parsed {
  let message: unknown;
  try {
    message = JSON.parse(typeof line === 'string' ? line : utf8.decode(line));
  } catch (cause) {
    return { ok: false, id: null, error: new AutoamiError(ErrorCode.ParseError, `parse error: ${(cause as Error).message}`) };
  }
  if (typeof message !== 'object' || message === null || Array.isArray(message)) {
    const what = Array.isArray(message) ? 'batch requests are not supported' : 'expected a JSON object';
    return { ok: false, id: null, error: new AutoamiError(ErrorCode.InvalidRequest, `invalid request: ${what}`) };
  }
  const fields = message as Record<string, unknown>;
  const id = isId(fields.id) ? fields.id : null;
  if (fields.jsonrpc !== '2.0') return invalid(id, 'jsonrpc', 'must be "2.0"');
  if ('id' in fields && !isId(fields.id)) return invalid(id, 'id', 'must be a string, a number or null');
  if (typeof fields.method !== 'string' || fields.method.length === 0) return invalid(id, 'method', 'must be a non-empty string');
  if ('params' in fields && (typeof fields.params !== 'object' || fields.params === null)) {
    return invalid(id, 'params', 'must be an object');
  }
  return { ok: true, request: { id, method: fields.method, params: fields.params, notification: !('id' in fields) } };
}

export function resultLine(id: RequestId, result: unknown): string {
  // Spelled out around the two values: the same text as stringifying the whole envelope, for less work per answer.
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result ?? null)}}\n`;
}

export function errorLine(id: RequestId, error: AutoamiError): string {
  const body: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.data !== undefined) body.data = error.data;
  return `${JSON.stringify({ jsonrpc: '2.0', id, error: body })}\n`;
}

export function notificationLine(method: string, params: unknown): string {
  return `${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`;
}

/**
 * Splits a byte stream into lines, refusing any line longer than MAX_LINE_BYTES without
 * buffering it: the rest of an oversized line is skipped up to its newline.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;

  constructor(
    private readonly onLine: (line: Buffer) => void,
    private readonly onOversize: () => void,
    private readonly limit = MAX_LINE_BYTES,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (let newline = chunk.indexOf(10, start); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.take(chunk.subarray(start, newline), true);
      start = newline + 1;
    }
    if (start < chunk.length) this.take(chunk.subarray(start), false);
  }

  private take(piece: Buffer, complete: boolean): void {
    if (!this.skipping) {
      this.pendingBytes += piece.length;
      if (this.pendingBytes > this.limit) {
        this.skipping = true;
        this.pending = [];
        this.pendingBytes = 0;
        this.onOversize();
      } else {
        this.pending.push(piece);
      }
    }
    if (!complete) return;
    if (!this.skipping) {
      // A line that came in one chunk (nearly all) is read in place, not copied.
      const line = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
      if (line.some((byte) => byte !== 32 && byte !== 9 && byte !== 13)) this.onLine(line);
    }
    this.pending.length = 0;
    this.pendingBytes = 0;
    this.skipping = false;
  }
}
