/**
 * EC2 error codes with the HTTP status AWS sends for them. Client errors are 400; the SDK
 * decides retryability from the code and the status, so the server-side ones must be 5xx:
 * RequestLimitExceeded arrives as 503, InsufficientInstanceCapacity as 500 (observed on the
 * wire, and listed under "server error codes" in the EC2 API reference).
 */
const SERVER_STATUS: Record<string, number> = {
  RequestLimitExceeded: 503,
  Unavailable: 503,
  ServiceUnavailable: 503,
  InsufficientInstanceCapacity: 500,
  InsufficientCapacity: 500,
  InternalError: 500,
};

export function statusFor(code: string): number {
  return SERVER_STATUS[code] ?? 400;
}

export class Ec2Fault extends Error {
  readonly code: string;
  readonly status: number;

  constructor(code: string, message: string, status = statusFor(code)) {
    super(message);
    this.name = 'Ec2Fault';
    this.code = code;
    this.status = status;
  }
}

export function missingParameter(name: string): Ec2Fault {
  return new Ec2Fault('MissingParameter', `The request must contain the parameter ${name}`);
}

export function invalidValue(name: string, value: string, why = ''): Ec2Fault {
  const suffix = why ? `: ${why}` : '';
  return new Ec2Fault('InvalidParameterValue', `Value (${value}) for parameter ${name} is invalid${suffix}`);
}

export function throttled(): Ec2Fault {
  return new Ec2Fault('RequestLimitExceeded', 'Request limit exceeded.');
}

/** AWS names one missing id in the singular and several in a list; tests match on both. */
export function instancesNotFound(ids: readonly string[]): Ec2Fault {
  const message =
    ids.length === 1
      ? `The instance ID '${ids[0]}' does not exist`
      : `The instance IDs '${ids.join(', ')}' do not exist`;
  return new Ec2Fault('InvalidInstanceID.NotFound', message);
}

export function imagesNotFound(ids: readonly string[]): Ec2Fault {
  return new Ec2Fault('InvalidAMIID.NotFound', `The image id '[${ids.join(', ')}]' does not exist`);
}

export function snapshotsNotFound(ids: readonly string[]): Ec2Fault {
  const message =
    ids.length === 1
      ? `The snapshot '${ids[0]}' does not exist.`
      : `The snapshots '${ids.join(', ')}' do not exist.`;
  return new Ec2Fault('InvalidSnapshot.NotFound', message);
}
