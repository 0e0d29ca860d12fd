/**
 * Every failure the sidecar reports to a client is one of these classes. The numeric
 * `code` is stable across releases and goes into the JSON-RPC error unchanged, so
 * clients (the Ruby shims, scripts) may branch on it; `data` names the offending field.
 */

export const ErrorCode = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  RequestTooLarge: -32000,
  ProtocolMismatch: -32001,
  NotFound: -32004,
  Conflict: -32009,
  Config: -32010,
  StoreUnavailable: -32020,
  Ec2: -32030,
  PuppetApi: -32040,
  ShuttingDown: -32050,
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorData {
  field?: string;
  [key: string]: unknown;
}

export class AutoamiError extends Error {
  readonly code: ErrorCode;
  readonly data: ErrorData | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; data?: ErrorData } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.data = options.data;
  }
}

/** A request parameter or config value failed validation; `field` is its name. */
export class ValidationError extends AutoamiError {
  readonly field: string;
  constructor(field: string, message: string, cause?: unknown) {
    super(ErrorCode.InvalidParams, `${field}: ${message}`, { cause, data: { field } });
    this.field = field;
  }
}

export class ConfigError extends AutoamiError {
  readonly key: string;
  constructor(key: string, message: string, cause?: unknown) {
    super(ErrorCode.Config, `config ${key}: ${message}`, { cause, data: { field: key } });
    this.key = key;
  }
}

export class NotFoundError extends AutoamiError {
  constructor(what: string, name: string, field = what) {
    super(ErrorCode.NotFound, `${field}: no ${what} named ${JSON.stringify(name)}`, { data: { field } });
  }
}

export class ConflictError extends AutoamiError {
  constructor(field: string, message: string) {
    super(ErrorCode.Conflict, `${field}: ${message}`, { data: { field } });
  }
}

export class StoreUnavailableError extends AutoamiError {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.StoreUnavailable, `store unavailable: ${message}`, { cause });
  }
}

/**
 * A wait ended by its AbortSignal (the sidecar stopping, the client hanging up) before the
 * awaited thing happened. Nothing failed: a bake step that ends on one is resumed later,
 * and a client reads ShuttingDown, which says to retry.
 */
export class WaitAborted extends AutoamiError {
  /** `what`: what was awaited, e.g. "image ami-... to be available". */
  constructor(what: string, signal: AbortSignal) {
    const why = signal.reason instanceof Error ? signal.reason.message : 'aborted';
    super(ErrorCode.ShuttingDown, `stopped waiting for ${what}: ${why}`, { cause: signal.reason });
  }
}

/** Render any thrown value as an AutoamiError without leaking internals to clients. */
export function asAutoamiError(error: unknown): AutoamiError {
  if (error instanceof AutoamiError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AutoamiError(ErrorCode.Internal, `internal error: ${message}`, { cause: error });
}

/** An EC2 call failed; `awsCode` is EC2's own error code (e.g. InvalidAMIID.NotFound). */
export class Ec2Error extends AutoamiError {
  readonly awsCode: string;
  constructor(awsCode: string, message: string, options: { cause?: unknown; field?: string } = {}) {
    super(ErrorCode.Ec2, message, { cause: options.cause, data: { aws_code: awsCode, ...(options.field ? { field: options.field } : {}) } });
    this.awsCode = awsCode;
  }
}

/** A wait on EC2 reached its deadline; the message names the resource and the state awaited. */
export class Ec2WaitTimeout extends Ec2Error {
  constructor(what: string, wanted: string, lastState: string, waitedMs: number) {
    super('WaitTimeout', `timed out after ${Math.round(waitedMs / 1000)} s waiting for ${what} to be ${wanted} (last state: ${lastState})`);
  }
}

/** A Puppet Server CA or PE console call failed; the message names the URL and status, never a secret. */
export class PuppetApiError extends AutoamiError {
  readonly status: number | null;
  constructor(message: string, options: { status?: number | null; url?: string; field?: string; cause?: unknown } = {}) {
    const { status = null, url, field } = options;
    super(ErrorCode.PuppetApi, message, { cause: options.cause, data: { status, ...(url ? { url } : {}), ...(field ? { field } : {}) } });
    this.status = status;
  }
}
