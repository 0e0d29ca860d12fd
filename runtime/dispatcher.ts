/**
 * Routes a parsed request to its handler after validating the params against the one
 * definition in interface/methods.ts, so no handler ever sees an unchecked value.
 */
import { AutoamiError, ErrorCode } from './errors.ts';
import { METHODS, PROTOCOL_VERSION, isMethodName, type MethodName, type ParamsFor } from './interface/methods.ts';
import { checkParams, needsHost, validate } from './interface/schema.ts';
import type { Request } from './protocol.ts';

export interface Session {
  hello: boolean;
  /** The login the client said it runs as, recorded with what it promotes or rolls back. */
  user?: string;
}

export interface CallContext {
  readonly session: Session;
  progress(params: Record<string, unknown>): void;
  /** Aborted when the sidecar stops or the client hangs up: a long call ends instead of holding the stop open. */
  readonly signal: AbortSignal;
}

/** Every method but hello, which the dispatcher answers itself. */
export type HandledMethod = Exclude<MethodName, 'hello'>;
/** A handler's params are typed from its method's definition, so it needs no casts. */
export type Handler<M extends HandledMethod> = (params: ParamsFor<M>, context: CallContext) => Promise<unknown>;
export type Handlers = { readonly [M in HandledMethod]: Handler<M> };

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
    const name = request.method;
    if (!isMethodName(name)) {
      throw new AutoamiError(ErrorCode.MethodNotFound, `method not found: ${JSON.stringify(name.slice(0, 100))}`, {
        data: { field: 'method' },
      });
    }
    if (name === 'hello') return this.hello(checkParams(METHODS.hello.params, request.params), session);
    return this.call(name, request.params, { session, progress, signal });
  }

  /**
   * Generic in the method, so the compiler ties its validated params to its handler. Not
   * async: a method whose params need no host check reaches its handler without a promise
   * of its own (dispatch, which is, turns a throw into a rejection).
   */
  private call<M extends HandledMethod>(name: M, input: unknown, context: CallContext): Promise<unknown> {
    const schema: (typeof METHODS)[M]['params'] = METHODS[name].params;
    if (needsHost(schema)) return validate(schema, input).then((params) => this.invoke(name, params, context));
    return this.invoke(name, checkParams(schema, input), context);
  }

  private invoke<M extends HandledMethod>(name: M, params: ParamsFor<M>, context: CallContext): Promise<unknown> {
    if (!context.session.hello) {
      throw new AutoamiError(ErrorCode.ProtocolMismatch, `call hello {protocol: ${PROTOCOL_VERSION}} before ${name}`);
    }
    const handler: Handler<M> = this.handlers[name];
    return handler(params, context);
  }

  private hello(params: ParamsFor<'hello'>, session: Session): HelloResult {
    if (params.protocol !== PROTOCOL_VERSION) {
      throw new AutoamiError(
        ErrorCode.ProtocolMismatch,
        `protocol mismatch: the client speaks protocol ${String(params.protocol)}, this sidecar (autoami ${this.version}) speaks ${PROTOCOL_VERSION}; install matching versions of the module and the sidecar`,
        { data: { field: 'protocol' } },
      );
    }
    session.hello = true;
    if (params.user !== undefined) session.user = params.user;
    return { protocol: PROTOCOL_VERSION, server: 'autoami', version: this.version };
  }
}
