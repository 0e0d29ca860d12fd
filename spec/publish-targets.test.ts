import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ValidationError } from '../runtime/errors.ts';
import { checkSsmName, channelsOf, parseTarget, targetKey, targetLabel, targetsOf } from '../runtime/publish/targets.ts';

const Targets = suite('publication targets');

const settings = (overrides: Partial<Record<'ssm_parameter' | 'launch_template' | 'instance_refresh', string[]>> = {}) => ({
  ssm_parameter: [], launch_template: [], instance_refresh: [], ...overrides,
});

Targets('should read a channel prefix, and put a value without one in latest', () => {
  assert.equal(parseTarget('ssm_parameter', '/web/ami'), { kind: 'ssm_parameter', channel: 'latest', value: '/web/ami' });
  assert.equal(parseTarget('ssm_parameter', 'prod:/web/ami'), { kind: 'ssm_parameter', channel: 'prod', value: '/web/ami' });
  // An upper-case prefix is no channel: the whole entry is the value.
  assert.equal(parseTarget('instance_refresh', 'Prod:web'), { kind: 'instance_refresh', channel: 'latest', value: 'Prod:web' });
});

Targets('should list a channel\'s targets of every kind, and every channel with latest always among them', () => {
  const group = settings({ ssm_parameter: ['/a', 'prod:/b'], launch_template: ['staging:lt-0123456789abcdef0'], instance_refresh: ['prod:asg'] });
  assert.equal(targetsOf(group, 'prod').map((target) => `${target.kind} ${target.value}`), ['ssm_parameter /b', 'instance_refresh asg']);
  assert.equal(channelsOf(group), ['latest', 'prod', 'staging']);
  assert.equal(channelsOf(settings()), ['latest']);
});

Targets('should key SSM targets per region and name targets by their option', () => {
  const target = parseTarget('ssm_parameter', '/a/b');
  assert.is(targetKey(target, 'eu-west-1'), 'ssm:eu-west-1:/a/b');
  assert.is(targetKey(parseTarget('launch_template', 'fleet'), 'us-east-1'), 'launch-template:us-east-1:fleet');
  assert.is(targetLabel(target, 'us-east-1', 'us-east-1'), '--ssm-parameter /a/b');
  assert.is(targetLabel(target, 'eu-west-1', 'us-east-1'), '--ssm-parameter /a/b (eu-west-1)');
});

Targets('should refuse names SSM refuses, saying which rule, and take the rest', () => {
  const refusal = (name: string): string => {
    try {
      checkSsmName('ssm_parameter', name);
    } catch (error) {
      assert.instance(error, ValidationError);
      return (error as ValidationError).message;
    }
    throw new Error(`${name} was taken`);
  };
  assert.match(refusal('awsami'), /may not begin with aws or ssm/);
  assert.match(refusal('/SSM/x'), /may not begin with aws or ssm/);
  assert.match(refusal('a/b'), /must begin with \//);
  assert.match(refusal('/a//b'), /level is empty/);
  assert.match(refusal(`/${Array.from({ length: 16 }, (_, n) => `l${n}`).join('/')}`), /16 hierarchy levels, more than 15/);
  for (const name of ['ami', '/app/ami', 'my-aws-ami', `/${Array.from({ length: 15 }, (_, n) => `l${n}`).join('/')}`]) checkSsmName('ssm_parameter', name);
});

Targets("should take AWS's own public names to read, which no account may write", () => {
  checkSsmName('base_image_from', '/aws/service/debian/release/12/latest/amd64', 'read');
  assert.throws(() => checkSsmName('ssm_parameter', '/aws/service/debian/release/12/latest/amd64'), /may not begin with aws or ssm/);
  assert.throws(() => checkSsmName('base_image_from', 'aws/service/x', 'read'), /must begin with \//);
});

Targets.run();
