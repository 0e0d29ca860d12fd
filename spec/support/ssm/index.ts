/**
 * A local stand-in for AWS Systems Manager Parameter Store (AWS JSON 1.1), for tests: the real
 * @aws-sdk/client-ssm talks to it. It shares the EC2 stand-in's world, so aws:ec2:image values
 * are validated against that region's images, and its Faults and RequestCounts, keyed by SSM
 * action names (PutParameter ...), which no EC2 action shares.
 *
 * Faults: faults.set('PutParameter', { throttleRate | bucket }) answers ThrottlingException,
 * { error: { code } } answers that code, { unsupported: true } UnknownOperationException,
 * { replyDelayMs } holds the reply after the action took effect. ssm.failPuts() refuses writes
 * to one name only.
 */
import { randomUUID } from 'node:crypto';
import { Ec2Fault } from '../ec2/errors.ts';
import type { Faults } from '../ec2/faults.ts';
import type { RequestCounts } from '../ec2/server.ts';
import { SSM_HANDLERS, type Body } from './actions.ts';
import { SsmFault } from './errors.ts';
import { SsmWorld } from './world.ts';

export { SsmWorld } from './world.ts';
export type { ParameterType, SsmParameterRecord, SsmParameterVersion } from './world.ts';
export { SsmFault } from './errors.ts';

export interface SsmDeps {
  ssm: SsmWorld;
  faults: Faults;
  counts: RequestCounts;
  /** Unexpected handler crashes: stand-in bugs, answered InternalServerError. */
  onCrash?: (e: unknown) => void;
}

export interface SsmRequest {
  /** From the SigV4 credential scope; undefined goes to the Ec2World's default region. */
  region: string | undefined;
  /** The X-Amz-Target header, e.g. 'AmazonSSM.PutParameter'. */
  target: string | undefined;
  body: string;
}

export interface SsmResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const TARGET_PREFIX = 'AmazonSSM.';
/** EC2's throttling code, which Faults.gate throws; SSM's own is ThrottlingException. */
const EC2_THROTTLED = 'RequestLimitExceeded';

function reply(status: number, requestId: string, body: Body, errorType?: string): SsmResponse {
  const text = JSON.stringify(body);
  const headers: Record<string, string> = {
    'content-type': 'application/x-amz-json-1.1',
    'content-length': String(Buffer.byteLength(text)),
    'x-amzn-requestid': requestId,
  };
  if (errorType !== undefined) headers['x-amzn-errortype'] = errorType;
  return { status, headers, body: text };
}

function asSsmFault(error: unknown): SsmFault | undefined {
  if (error instanceof SsmFault) return error;
  if (!(error instanceof Ec2Fault)) return undefined;
  if (error.code === EC2_THROTTLED) return new SsmFault('ThrottlingException', 'Rate exceeded');
  return new SsmFault(error.code, error.message, error.status);
}

/**
 * One SSM request. The region is checked before the action is known, since AWS refuses the
 * credentials before it reads the request; every request lands in counts under its action.
 */
export async function handleSsm(deps: SsmDeps, request: SsmRequest): Promise<SsmResponse> {
  const requestId = randomUUID();
  const target = request.target ?? '';
  const action = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
  const counted = action || '(none)';
  try {
    try {
      deps.ssm.ec2.forRequest(request.region);
    } catch (error) {
      if (!(error instanceof Ec2Fault)) throw error;
      throw new SsmFault('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const region = request.region ?? deps.ssm.ec2.defaultRegion;
    const handler = Object.hasOwn(SSM_HANDLERS, action) ? SSM_HANDLERS[action] : undefined;
    if (!handler || deps.faults.unsupported(action)) {
      throw new SsmFault('UnknownOperationException', '');
    }
    let body: unknown;
    try {
      body = request.body === '' ? {} : JSON.parse(request.body);
    } catch {
      throw new SsmFault('SerializationException', 'Start of structure or map found where not expected.');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new SsmFault('SerializationException', 'Start of structure or map found where not expected.');
    }
    deps.faults.gate(action);
    const result = handler(body as Body, { ssm: deps.ssm, region });
    deps.counts.record(counted);
    const held = deps.faults.replyDelayMs(action);
    if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
    return reply(200, requestId, result);
  } catch (error) {
    let fault = asSsmFault(error);
    if (!fault) {
      deps.onCrash?.(error);
      fault = new SsmFault('InternalServerError', 'An internal error has occurred', 500);
    }
    deps.counts.record(counted, fault.code);
    const body: Body = { __type: fault.code };
    if (fault.message) body.message = fault.message;
    return reply(fault.status, requestId, body, fault.code);
  }
}
