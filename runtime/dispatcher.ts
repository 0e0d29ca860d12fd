/**
 * Routes a parsed request to its handler after validating the params against the one
 * definition in interface/methods.ts, so no handler ever sees an unchecked value.
 */
import { AutoamiError, ErrorCode } from './errors.ts';
import { PROTOCOL_VERSION, findMethod, type MethodName } from './interface/methods.ts';
import { validate, type Params } from './interface/schema.ts';
import type { Request } from './protocol.ts';

export interface Session {
  hello: boolean;
}

export interface CallContext {
  readonly session: Session;
  progress(params: Record<string, unknown>): void;
  /** Aborted when the sidecar stops or the client hangs up: a long call ends instead of holding the stop open. */
  readonly signal: AbortSignal;
}

export type Handler = (params: Params, context: CallContext) => Promise<unknown>;
export type Handlers = { readonly [name in Exclude<MethodName, 'hello'>]: Handler };

export interface HelloResult {
  protocol: number;
  server: 'autoami';
  version: string;
}

export class Dispatcher {
  constructor(
    private readonly handlers: Handlers,
    private readonly version: string,
  ) {}

  async dispatch(request: Request, session: Session, progress: CallContext['progress'], signal: AbortSignal = new AbortController().signal): Promise<unknown> {
    const method = findMethod(request.method);
    if (!method) {
      throw new AutoamiError(ErrorCode.MethodNotFound, `method not found: ${JSON.stringify(request.method.slice(0, 100))}`, {
        data: { field: 'method' },
      });
    }
    const params = await validate(method.params, request.params);
    if (method.name === 'hello') return this.hello(params, session);
    if (!session.hello) {
      throw new AutoamiError(ErrorCode.ProtocolMismatch, `call hello {protocol: ${PROTOCOL_VERSION}} before ${method.name}`);
    }
    const handler: Handler | undefined = this.handlers[method.name as keyof Handlers];
    if (!handler) throw new AutoamiError(ErrorCode.MethodNotFound, `method not implemented: ${method.name}`, { data: { field: 'method' } });
    return handler(params, { session, progress, signal });
  }

  private hello(params: Params, session: Session): HelloResult {
    if (params.protocol !== PROTOCOL_VERSION) {
      throw new AutoamiError(
        ErrorCode.ProtocolMismatch,
        `protocol mismatch: the client speaks protocol ${String(params.protocol)}, this sidecar (autoami ${this.version}) speaks ${PROTOCOL_VERSION}; install matching versions of the module and the sidecar`,
        { data: { field: 'protocol' } },
      );
    }
    session.hello = true;
    return { protocol: PROTOCOL_VERSION, server: 'autoami', version: this.version };
  }
}
