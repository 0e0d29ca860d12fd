import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Ec2Error } from '../runtime/errors.ts';
import { isPassingEc2Failure } from '../runtime/ec2/failures.ts';
import { toServiceError, type ServiceCall } from '../runtime/publish/failures.ts';

const Failures = suite('SSM and Auto Scaling failures');

const CALL: ServiceCall = { service: 'ssm', action: 'PutParameter', region: 'eu-west-1', endpoint: 'https://ssm.eu-west-1.amazonaws.com', subject: '/web/ami' };

/** An error as the SDK throws it: its name is the service's code, with the HTTP status. */
const sdkError = (name: string, message: string, status?: number) => Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });

Failures('should wait out throttling and the service\'s own trouble, and not a refusal', () => {
  const throttled = toServiceError(sdkError('ThrottlingException', 'Rate exceeded', 400), CALL);
  assert.is(throttled.awsCode, 'Throttling');
  assert.ok(isPassingEc2Failure(throttled));
  const broken = toServiceError(sdkError('InternalServerError', 'try again', 500), CALL);
  assert.ok(isPassingEc2Failure(broken), broken.awsCode);
  const refused = toServiceError(sdkError('ParameterPatternMismatchException', 'bad name', 400), CALL);
  assert.not.ok(isPassingEc2Failure(refused));
  assert.is(refused.message, 'ssm:PutParameter on /web/ami failed in eu-west-1: bad name (ParameterPatternMismatchException)');
});

Failures('should name the permission, the credentials and the endpoint setting in an operator\'s words', () => {
  const denied = toServiceError(sdkError('AccessDeniedException', 'not authorized', 400), CALL);
  assert.match(denied.message, /^credentials lack permission for ssm:PutParameter on \/web\/ami in eu-west-1: not authorized \(AccessDeniedException\)$/);
  const rejected = toServiceError(sdkError('UnrecognizedClientException', 'The security token included in the request is invalid.', 400), CALL);
  assert.match(rejected.message, /^ssm in eu-west-1 rejected the AWS credentials \(or the account has not enabled the region\)/);
  const unreachable = toServiceError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), { ...CALL, service: 'autoscaling', action: 'StartInstanceRefresh' });
  assert.match(unreachable.message, /^cannot reach autoscaling in eu-west-1 at /);
  assert.ok(isPassingEc2Failure(unreachable));
});

Failures('should keep a failure already mapped as it is', () => {
  const mapped = new Ec2Error('InvalidLaunchTemplateId.NotFound', 'launch_template: lt-1 does not exist');
  assert.is(toServiceError(mapped, CALL), mapped);
});

Failures.run();
