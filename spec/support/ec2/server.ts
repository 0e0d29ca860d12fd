import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { HANDLERS } from './actions/index.ts';
import { Ec2Fault, missingParameter } from './errors.ts';
import type { Faults } from './faults.ts';
import { handleAutoScaling, type AutoScalingWorld } from '../autoscaling/index.ts';
import { handleSsm, type SsmWorld } from '../ssm/index.ts';
import { signedRegion, signedService, type Ec2World } from './regions.ts';
import { Params, renderError, renderResponse } from './wire.ts';

export interface ActionCounts {
  total: number;
  ok: number;
  /** Error code → how many requests were answered with it. */
  errors: Record<string, number>;
}

/** Requests seen per action and how each was answered, so tests can assert on retries and call volume. */
export class RequestCounts {
  private readonly byAction = new Map<string, ActionCounts>();

  record(action: string, errorCode?: string): void {
    const entry = this.byAction.get(action) ?? { total: 0, ok: 0, errors: {} };
    entry.total += 1;
    if (errorCode === undefined) entry.ok += 1;
    else entry.errors[errorCode] = (entry.errors[errorCode] ?? 0) + 1;
    this.byAction.set(action, entry);
  }

  of(action: string): ActionCounts {
    const entry = this.byAction.get(action);
    return entry ? { total: entry.total, ok: entry.ok, errors: { ...entry.errors } } : { total: 0, ok: 0, errors: {} };
  }

  /** Requests for one action, or for all of them. */
  total(action?: string): number {
    if (action !== undefined) return this.of(action).total;
    let sum = 0;
    for (const entry of this.byAction.values()) sum += entry.total;
    return sum;
  }

  ok(action: string): number {
    return this.of(action).ok;
  }

  /** Failed requests for an action, optionally only those with one error code. */
  errors(action: string, code?: string): number {
    const { errors } = this.of(action);
    if (code !== undefined) return errors[code] ?? 0;
    return Object.values(errors).reduce((a, b) => a + b, 0);
  }

  all(): Record<string, ActionCounts> {
    return Object.fromEntries([...this.byAction.keys()].map((action) => [action, this.of(action)]));
  }

  reset(): void {
    this.byAction.clear();
  }
}

export interface ServerDeps {
  world: Ec2World;
  /** SSM and Auto Scaling answer on the same URL, told apart by the service their requests are signed for. */
  ssm: SsmWorld;
  autoscaling: AutoScalingWorld;
  faults: Faults;
  counts: RequestCounts;
  /** Where unexpected handler crashes are reported; they are endpoint bugs, not EC2 behaviour. */
  onCrash?: (error: unknown) => void;
}

/** A request's whole body as text; the specs that serve one stand-in alone read theirs the same way. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, requestId: string, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    server: 'AmazonEC2',
  });
  res.end(body);
}

/**
 * One request: find its region, route by Action, apply faults, run the handler, render XML.
 * The region comes first because EC2 checks credentials before it reads the request.
 */
async function serve(deps: ServerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const requestId = randomUUID();
  const body = await readBody(req);
  const query = new URL(req.url ?? '/', 'http://localhost').search.slice(1);
  const credential = new URLSearchParams(query).get('X-Amz-Credential') ?? undefined;
  const service = signedService(req.headers.authorization, credential);
  if (service === 'ssm' || service === 'autoscaling') {
    const region = signedRegion(req.headers.authorization, credential);
    const target = req.headers['x-amz-target'];
    const answer =
      service === 'ssm'
        ? await handleSsm({ ssm: deps.ssm, faults: deps.faults, counts: deps.counts, ...(deps.onCrash && { onCrash: deps.onCrash }) }, { region, target: typeof target === 'string' ? target : undefined, body })
        : await handleAutoScaling({ autoscaling: deps.autoscaling, faults: deps.faults, counts: deps.counts, ...(deps.onCrash && { onCrash: deps.onCrash }) }, { region, body: req.method === 'GET' ? query : body });
    res.writeHead(answer.status, answer.headers);
    res.end(answer.body);
    return;
  }
  // The Query API also accepts GET with the parameters in the query string.
  const params = Params.parse(req.method === 'GET' ? query : body);
  const action = params.str('Action') ?? '';
  try {
    const authorization = req.headers.authorization;
    const state = deps.world.forRequest(signedRegion(authorization, params.str('X-Amz-Credential')));
    if (!action) throw missingParameter('Action');
    const handler = HANDLERS[action];
    if (!handler || deps.faults.unsupported(action)) {
      throw new Ec2Fault('InvalidAction', `The action ${action} is not valid for this web service.`);
    }
    deps.faults.gate(action);
    if (params.str('DryRun') === 'true') {
      throw new Ec2Fault('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
    }
    const xml = handler(params, { action, state, world: deps.world, faults: deps.faults, lagMs: deps.faults.lagMs(action) });
    deps.counts.record(action);
    const held = deps.faults.replyDelayMs(action);
    if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
    send(res, 200, requestId, renderResponse(action, requestId, xml));
  } catch (error) {
    const fault =
      error instanceof Ec2Fault
        ? error
        : new Ec2Fault('InternalError', 'An internal error has occurred', 500);
    if (!(error instanceof Ec2Fault)) deps.onCrash?.(error);
    deps.counts.record(action || '(none)', fault.code);
    send(res, fault.status, requestId, renderError(fault.code, fault.message, requestId));
  }
}

export function createEc2Server(deps: ServerDeps): Server {
  return createServer((req, res) => {
    serve(deps, req, res).catch((error: unknown) => {
      deps.onCrash?.(error);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
}
