/**
 * A local stand-in for Amazon EC2 Auto Scaling's Query API (2011-01-01), enough for the real
 * @aws-sdk/client-auto-scaling to describe groups and drive instance refreshes. It shares the
 * EC2 stand-in's world: regions, account, clock and launch templates are the same ones.
 */
import { randomUUID } from 'node:crypto';
import { Ec2Fault } from '../ec2/errors.ts';
import type { Faults } from '../ec2/faults.ts';
import type { RequestCounts } from '../ec2/server.ts';
import { Params } from '../ec2/wire.ts';
import { ASG_HANDLERS } from './actions.ts';
import { AutoScalingFault } from './model.ts';
import type { AutoScalingWorld } from './world.ts';
import { renderAsgError, renderAsgResponse } from './xml.ts';

export { AutoScalingWorld, type AutoScalingWorldOptions, type GroupSetup, type RefreshFailure } from './world.ts';
export { AutoScalingFault, type AutoScalingGroupRecord, type InstanceRefreshRecord, type InstanceRefreshStatus, type LaunchTemplateRef, type RefreshPreferencesRecord, type RollbackDetailsRecord } from './model.ts';

export interface AutoScalingDeps {
  autoscaling: AutoScalingWorld;
  faults: Faults;
  counts: RequestCounts;
  /** Where unexpected handler crashes go; they are stand-in bugs, not Auto Scaling behaviour. */
  onCrash?: (e: unknown) => void;
}

export interface AutoScalingRequest {
  /** From the SigV4 credential scope; undefined goes to the EC2 world's default region. */
  region: string | undefined;
  /** The form body, or the query string of a GET. */
  body: string;
}

export interface AutoScalingReply {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * The EC2 side's faults keep EC2's words; Auto Scaling says the same things its own way. A
 * region the account cannot use fails at authentication, before the request is read.
 */
function translate(error: Ec2Fault, stage: 'auth' | 'gate'): AutoScalingFault {
  if (stage === 'auth') return new AutoScalingFault('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
  if (error.code === 'RequestLimitExceeded') return new AutoScalingFault('Throttling', 'Rate exceeded', 400);
  return new AutoScalingFault(error.code, error.message, error.status);
}

function reply(status: number, requestId: string, body: string): AutoScalingReply {
  return {
    status,
    headers: {
      'content-type': 'text/xml',
      'content-length': String(Buffer.byteLength(body)),
      'x-amzn-requestid': requestId,
    },
    body,
  };
}

export async function handleAutoScaling(deps: AutoScalingDeps, request: AutoScalingRequest): Promise<AutoScalingReply> {
  const requestId = randomUUID();
  let action = '';
  try {
    const params = Params.parse(request.body);
    action = params.str('Action') ?? '';
    const region = request.region ?? deps.autoscaling.ec2.defaultRegion;
    let ec2;
    try {
      ec2 = deps.autoscaling.ec2.forRequest(region);
    } catch (error) {
      throw error instanceof Ec2Fault ? translate(error, 'auth') : error;
    }
    const handler = ASG_HANDLERS[action];
    if (!handler || deps.faults.unsupported(action)) {
      throw new AutoScalingFault('InvalidAction', `Could not find operation ${action} for version 2011-01-01`);
    }
    try {
      deps.faults.gate(action);
    } catch (error) {
      throw error instanceof Ec2Fault ? translate(error, 'gate') : error;
    }
    const result = handler(params, { world: deps.autoscaling, region, ec2 });
    deps.counts.record(action);
    const held = deps.faults.replyDelayMs(action);
    if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
    return reply(200, requestId, renderAsgResponse(action, requestId, result));
  } catch (error) {
    const fault = error instanceof AutoScalingFault ? error : new AutoScalingFault('InternalFailure', 'An internal error has occurred', 500);
    if (!(error instanceof AutoScalingFault)) deps.onCrash?.(error);
    deps.counts.record(action || '(none)', fault.code);
    return reply(fault.status, requestId, renderAsgError(fault.type, fault.code, fault.message, requestId));
  }
}
