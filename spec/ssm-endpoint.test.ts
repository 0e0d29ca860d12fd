/** The Parameter Store stand-in, driven by the real @aws-sdk/client-ssm. */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  GetParameterCommand,
  GetParameterHistoryCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  SSMClient,
  SSMServiceException,
  type PutParameterCommandInput,
} from '@aws-sdk/client-ssm';
import { TestClock } from './support/ec2/clock.ts';
import { Faults } from './support/ec2/faults.ts';
import { Ec2World, REGIONS, signedRegion } from './support/ec2/regions.ts';
import { RequestCounts, readBody } from './support/ec2/server.ts';
import { handleSsm, SsmWorld } from './support/ssm/index.ts';

const ACCOUNT = '123456789012';
const START = Date.UTC(2024, 0, 1, 12, 0, 0);
/** Public, in every region, like the Debian base image of the EC2 stand-in. */
const BASE_AMI = 'ami-0deb1a12000000001';
/** Registered by the rig in us-east-1 only. */
const EAST_AMI = 'ami-0123456789abcdef0';
/** The short, pre-2016 id form, in us-east-1 only. */
const SHORT_AMI = 'ami-1234abcd';
const VALIDATE_MS = 50;

interface Rig {
  url: string;
  clock: TestClock;
  world: Ec2World;
  ssm: SsmWorld;
  faults: Faults;
  counts: RequestCounts;
  client(region?: string): SSMClient;
  crashes: unknown[];
}

/** A manual clock, so validation happens exactly when a test advances it. */
async function withSsm(body: (rig: Rig) => Promise<void>): Promise<void> {
  const clock = new TestClock({ manual: true, start: START });
  const world = new Ec2World(clock, {
    defaultRegion: 'us-east-1',
    baseImages: [{ imageId: BASE_AMI }],
    optedOut: REGIONS.filter((r) => r.optIn).map((r) => r.name),
    notOptedInError: 'AuthFailure',
    state: {
      accountId: ACCOUNT,
      bootMs: 10,
      imageMs: 10,
      copyMs: 10,
      stopMs: 10,
      terminateMs: 10,
      terminatedVisibleMs: 1000,
      deregisteredVisibleMs: 0,
    },
  });
  world.state('us-east-1').addBaseImage({ imageId: EAST_AMI, ownerId: 'self' });
  world.state('us-east-1').addBaseImage({ imageId: SHORT_AMI, ownerId: 'self' });
  const ssm = new SsmWorld(world, { validateMs: VALIDATE_MS });
  const faults = new Faults(clock, 1);
  const counts = new RequestCounts();
  const crashes: unknown[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const reply = await handleSsm(
        { ssm, faults, counts, onCrash: (e) => crashes.push(e) },
        {
          region: signedRegion(req.headers.authorization, undefined),
          target: req.headers['x-amz-target'] as string | undefined,
          body: await readBody(req),
        },
      );
      res.writeHead(reply.status, reply.headers);
      res.end(reply.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients: SSMClient[] = [];
  const client = (region = 'us-east-1'): SSMClient => {
    const made = new SSMClient({
      endpoint: url,
      region,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    clients.push(made);
    return made;
  };
  try {
    await body({ url, clock, world, ssm, faults, counts, client, crashes });
    assert.equal(crashes, [], 'the stand-in crashed');
  } finally {
    for (const made of clients) made.destroy();
    clock.dispose();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function refusal(promise: Promise<unknown>): Promise<SSMServiceException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SSMServiceException) return error;
    throw error;
  }
  throw assert.unreachable('expected the call to fail');
}

async function refusedWith(promise: Promise<unknown>, name: string, status = 400): Promise<SSMServiceException> {
  const error = await refusal(promise);
  assert.is(error.name, name, error.message);
  assert.is(error.$metadata.httpStatusCode, status);
  return error;
}

const put = (ssm: SSMClient, input: Partial<PutParameterCommandInput> & { Name: string; Value: string }) =>
  ssm.send(new PutParameterCommand({ Type: 'String', ...input }));
const get = (ssm: SSMClient, name: string, decrypt = false) =>
  ssm.send(new GetParameterCommand({ Name: name, WithDecryption: decrypt }));

// ---------------------------------------------------------------------------------------------

const PutGet = suite('ssm put and get');

PutGet('should create a parameter and read it back with its ARN, version and date', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    const reply = await put(c, { Name: '/autoami/web/ami', Value: 'hello' });
    assert.is(reply.Version, 1);
    assert.is(reply.Tier, 'Standard');
    const { Parameter: p } = await get(c, '/autoami/web/ami');
    assert.is(p?.Name, '/autoami/web/ami');
    assert.is(p?.Value, 'hello');
    assert.is(p?.Type, 'String');
    assert.is(p?.Version, 1);
    assert.is(p?.DataType, 'text');
    assert.is(p?.ARN, `arn:aws:ssm:us-east-1:${ACCOUNT}:parameter/autoami/web/ami`);
    assert.instance(p?.LastModifiedDate, Date);
    assert.is(p?.LastModifiedDate?.getTime(), START);
    assert.is(ssm.value('us-east-1', '/autoami/web/ami'), 'hello');
  }),
);

PutGet('should give a name without a slash an ARN with one slash', () =>
  withSsm(async ({ client }) => {
    const c = client('eu-west-1');
    await put(c, { Name: 'plain-name', Value: 'v' });
    const { Parameter: p } = await get(c, 'plain-name');
    assert.is(p?.ARN, `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/plain-name`);
    const byArn = await get(c, `arn:aws:ssm:eu-west-1:${ACCOUNT}:parameter/plain-name`);
    assert.is(byArn.Parameter?.Value, 'v');
  }),
);

PutGet('should refuse a second put without Overwrite and keep the first value', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'one' });
    await refusedWith(put(c, { Name: '/app/x', Value: 'two' }), 'ParameterAlreadyExists');
    assert.is(ssm.value('us-east-1', '/app/x'), 'one');
  }),
);

PutGet('should add a version on Overwrite and keep the older one readable by name:version', () =>
  withSsm(async ({ client, clock }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'one' });
    clock.advance(5000);
    const reply = await put(c, { Name: '/app/x', Value: 'two', Overwrite: true });
    assert.is(reply.Version, 2);
    const latest = await get(c, '/app/x');
    assert.is(latest.Parameter?.Value, 'two');
    assert.is(latest.Parameter?.LastModifiedDate?.getTime(), START + 5000);
    const first = await get(c, '/app/x:1');
    assert.is(first.Parameter?.Value, 'one');
    assert.is(first.Parameter?.Version, 1);
    assert.is(first.Parameter?.Selector, ':1');
  }),
);

PutGet('should answer ParameterNotFound and ParameterVersionNotFound for what is not there', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await refusedWith(get(c, '/app/missing'), 'ParameterNotFound');
    await put(c, { Name: '/app/x', Value: 'one' });
    await refusedWith(get(c, '/app/x:7'), 'ParameterVersionNotFound');
  }),
);

PutGet('should require a Type when creating but not when overwriting', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await refusedWith(c.send(new PutParameterCommand({ Name: '/app/x', Value: 'v' })), 'ValidationException');
    assert.is(ssm.parameters('us-east-1').size, 0);
    await put(c, { Name: '/app/x', Value: 'v', Type: 'StringList' });
    await c.send(new PutParameterCommand({ Name: '/app/x', Value: 'a,b', Overwrite: true }));
    assert.is(ssm.parameters('us-east-1').get('/app/x')?.type, 'StringList');
  }),
);

PutGet('should answer InvalidDataType for a data type SSM does not know', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await refusedWith(put(c, { Name: '/app/x', Value: 'v', DataType: 'aws:ec2:instance' }), 'InvalidDataType');
    assert.is(ssm.value('us-east-1', '/app/x'), undefined);
  }),
);

PutGet('should answer UnsupportedParameterType for an unknown Type', () =>
  withSsm(async ({ client }) => {
    await refusedWith(put(client(), { Name: '/app/x', Value: 'v', Type: 'Integer' as 'String' }), 'UnsupportedParameterType');
  }),
);

PutGet('should refuse Tags together with Overwrite on an existing parameter', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'one' });
    await refusedWith(put(c, { Name: '/app/x', Value: 'two', Overwrite: true, Tags: [{ Key: 'k', Value: 'v' }] }), 'ValidationException');
    assert.is(ssm.value('us-east-1', '/app/x'), 'one');
  }),
);

PutGet('should refuse changing a parameter to or from aws:ec2:image', () =>
  withSsm(async ({ client, ssm, clock }) => {
    const c = client();
    await put(c, { Name: '/app/text', Value: BASE_AMI });
    await refusedWith(put(c, { Name: '/app/text', Value: BASE_AMI, Overwrite: true, DataType: 'aws:ec2:image' }), 'ValidationException');
    await put(c, { Name: '/app/image', Value: BASE_AMI, DataType: 'aws:ec2:image' });
    clock.advance(VALIDATE_MS);
    await refusedWith(put(c, { Name: '/app/image', Value: 'x', Overwrite: true, DataType: 'text' }), 'ValidationException');
    assert.is(ssm.parameters('us-east-1').get('/app/text')?.dataType, 'text');
    assert.is(ssm.value('us-east-1', '/app/image'), BASE_AMI);
  }),
);

PutGet('should refuse changing the Type of an existing parameter', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'one' });
    await refusedWith(put(c, { Name: '/app/x', Value: 'two', Type: 'SecureString', Overwrite: true }), 'HierarchyTypeMismatchException');
  }),
);

PutGet('should show a SecureString value only WithDecryption', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await put(c, { Name: '/app/secret', Value: 'hunter2', Type: 'SecureString' });
    assert.is((await get(c, '/app/secret', true)).Parameter?.Value, 'hunter2');
    const sealed = (await get(c, '/app/secret')).Parameter?.Value;
    assert.type(sealed, 'string');
    assert.not.ok(sealed?.includes('hunter2'));
  }),
);

PutGet('should delete a parameter and then not find it', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'one' });
    await c.send(new DeleteParameterCommand({ Name: '/app/x' }));
    assert.is(ssm.parameters('us-east-1').has('/app/x'), false);
    await refusedWith(get(c, '/app/x'), 'ParameterNotFound');
    await refusedWith(c.send(new DeleteParameterCommand({ Name: '/app/x' })), 'ParameterNotFound');
  }),
);

PutGet('should keep regions apart', () =>
  withSsm(async ({ client, ssm }) => {
    await put(client('us-east-1'), { Name: '/app/x', Value: 'east' });
    await refusedWith(get(client('eu-west-1'), '/app/x'), 'ParameterNotFound');
    assert.is(ssm.value('eu-west-1', '/app/x'), undefined);
  }),
);

// ---------------------------------------------------------------------------------------------

const Names = suite('ssm parameter names');

Names('should refuse names prefixed with aws or ssm, at the start or as the first level', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    for (const name of ['awsThing', '/aws/app', '/SSM/app', 'Ssm-param', '/AwS']) {
      await refusedWith(put(c, { Name: name, Value: 'v' }), 'ParameterPatternMismatchException');
    }
    assert.is(ssm.parameters('us-east-1').size, 0);
    await put(c, { Name: '/app/aws/ssm', Value: 'v' });
    assert.is(ssm.value('us-east-1', '/app/aws/ssm'), 'v');
  }),
);

Names('should allow 15 hierarchy levels and refuse 16', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    const levels = (n: number) => '/' + Array.from({ length: n }, (_, i) => `l${i + 1}`).join('/');
    await put(c, { Name: levels(15), Value: 'v' });
    await refusedWith(put(c, { Name: levels(16), Value: 'v' }), 'HierarchyLevelLimitExceededException');
    assert.equal([...ssm.parameters('us-east-1').keys()], [levels(15)]);
  }),
);

Names('should refuse characters outside a-zA-Z0-9_.-/', () =>
  withSsm(async ({ client }) => {
    const c = client();
    for (const name of ['/app/a@b', '/app/é', '/app/a:b', 'a*b']) {
      await refusedWith(put(c, { Name: name, Value: 'v' }), 'ParameterPatternMismatchException');
    }
  }),
);

Names('should refuse a path without a leading slash, inner spaces and over-long names', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await refusedWith(put(c, { Name: 'app/x', Value: 'v' }), 'ValidationException');
    await refusedWith(put(c, { Name: '/app/a b', Value: 'v' }), 'ValidationException');
    await refusedWith(put(c, { Name: `/${'a'.repeat(1011)}`, Value: 'v' }), 'ValidationException');
    await put(c, { Name: `/${'a'.repeat(1010)}`, Value: 'v' });
  }),
);

// ---------------------------------------------------------------------------------------------

const Images = suite('ssm aws:ec2:image');

Images('should answer the version at once but show it only after validation', () =>
  withSsm(async ({ client, clock, ssm }) => {
    const c = client();
    const reply = await put(c, { Name: '/app/ami', Value: EAST_AMI, DataType: 'aws:ec2:image' });
    assert.is(reply.Version, 1);
    await refusedWith(get(c, '/app/ami'), 'ParameterNotFound');
    clock.advance(VALIDATE_MS - 1);
    assert.is(ssm.value('us-east-1', '/app/ami'), undefined);
    clock.advance(1);
    const { Parameter: p } = await get(c, '/app/ami');
    assert.is(p?.Value, EAST_AMI);
    assert.is(p?.DataType, 'aws:ec2:image');
    assert.is(p?.LastModifiedDate?.getTime(), START + VALIDATE_MS);
  }),
);

Images('should accept the short eight-digit id form', () =>
  withSsm(async ({ client, clock, ssm }) => {
    await put(client(), { Name: '/app/ami', Value: SHORT_AMI, DataType: 'aws:ec2:image' });
    clock.advance(VALIDATE_MS);
    assert.is(ssm.value('us-east-1', '/app/ami'), SHORT_AMI);
  }),
);

Images('should never apply a malformed, unknown or pending image', () =>
  withSsm(async ({ client, clock, ssm, world }) => {
    const c = client();
    await put(c, { Name: '/app/ami', Value: EAST_AMI, DataType: 'aws:ec2:image' });
    clock.advance(VALIDATE_MS);
    const pending = world.state('us-east-1').addBaseImage({ imageId: 'ami-0aaaaaaaaaaaaaaa1', ownerId: 'self' });
    pending.state = 'pending';
    for (const value of ['ami-XYZ', 'ami-0fffffffffffffff9', 'ami-0aaaaaaaaaaaaaaa1', 'not-an-ami']) {
      const reply = await put(c, { Name: '/app/ami', Value: value, Overwrite: true, DataType: 'aws:ec2:image' });
      assert.type(reply.Version, 'number');
      clock.advance(VALIDATE_MS);
      assert.is(ssm.value('us-east-1', '/app/ami'), EAST_AMI, value);
    }
    assert.equal(ssm.parameters('us-east-1').get('/app/ami')?.versions.map((v) => v.version), [1]);
  }),
);

Images('should not apply an image that exists only in another region', () =>
  withSsm(async ({ client, clock, ssm }) => {
    await put(client('eu-west-1'), { Name: '/app/ami', Value: EAST_AMI, DataType: 'aws:ec2:image' });
    clock.advance(VALIDATE_MS * 10);
    assert.is(ssm.value('eu-west-1', '/app/ami'), undefined);
    await refusedWith(get(client('eu-west-1'), '/app/ami'), 'ParameterNotFound');
    await put(client('eu-west-1'), { Name: '/app/ami', Value: BASE_AMI, DataType: 'aws:ec2:image' });
    clock.advance(VALIDATE_MS);
    assert.is(ssm.value('eu-west-1', '/app/ami'), BASE_AMI);
  }),
);

Images('should judge the image as it is at validation, not at the put', () =>
  withSsm(async ({ client, clock, ssm, world }) => {
    const image = world.state('us-east-1').addBaseImage({ imageId: 'ami-0bbbbbbbbbbbbbbb2', ownerId: 'self' });
    image.state = 'pending';
    await put(client(), { Name: '/app/ami', Value: image.imageId, DataType: 'aws:ec2:image' });
    image.state = 'available';
    clock.advance(VALIDATE_MS);
    assert.is(ssm.value('us-east-1', '/app/ami'), image.imageId);
  }),
);

Images('should leave the number of a version that failed validation unused', () =>
  withSsm(async ({ client, clock }) => {
    const c = client();
    await put(c, { Name: '/app/ami', Value: EAST_AMI, DataType: 'aws:ec2:image' });
    clock.advance(VALIDATE_MS);
    const bad = await put(c, { Name: '/app/ami', Value: 'ami-0fffffffffffffff9', Overwrite: true, DataType: 'aws:ec2:image' });
    const good = await put(c, { Name: '/app/ami', Value: BASE_AMI, Overwrite: true });
    assert.is(bad.Version, 2);
    assert.is(good.Version, 3);
    clock.advance(VALIDATE_MS);
    const history = await c.send(new GetParameterHistoryCommand({ Name: '/app/ami' }));
    assert.equal(history.Parameters?.map((p) => [p.Version, p.Value]), [[1, EAST_AMI], [3, BASE_AMI]]);
  }),
);

// ---------------------------------------------------------------------------------------------

const History = suite('ssm parameter history');

History('should list every version oldest first with who changed it', () =>
  withSsm(async ({ client, clock }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'one', Description: 'first' });
    clock.advance(1000);
    await put(c, { Name: '/app/x', Value: 'two', Overwrite: true });
    const { Parameters: list, NextToken } = await c.send(new GetParameterHistoryCommand({ Name: '/app/x' }));
    assert.equal(list?.map((p) => [p.Version, p.Value]), [[1, 'one'], [2, 'two']]);
    assert.is(NextToken, undefined);
    assert.is(list?.[1]?.LastModifiedDate?.getTime(), START + 1000);
    assert.is(list?.[0]?.LastModifiedUser, `arn:aws:iam::${ACCOUNT}:user/autoami-test`);
    assert.is(list?.[0]?.Tier, 'Standard');
    assert.is(list?.[0]?.DataType, 'text');
    assert.is(list?.[0]?.Description, 'first');
    assert.equal(list?.[0]?.Labels, []);
  }),
);

History('should page with MaxResults and NextToken', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'v1' });
    for (let n = 2; n <= 5; n++) await put(c, { Name: '/app/x', Value: `v${n}`, Overwrite: true });
    const pages: (number | undefined)[][] = [];
    let token: string | undefined;
    do {
      const page = await c.send(new GetParameterHistoryCommand({ Name: '/app/x', MaxResults: 2, NextToken: token }));
      pages.push(page.Parameters?.map((p) => p.Version) ?? []);
      token = page.NextToken;
    } while (token);
    assert.equal(pages, [[1, 2], [3, 4], [5]]);
  }),
);

History('should refuse MaxResults over 50 and a token it did not issue', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'v' });
    await refusedWith(c.send(new GetParameterHistoryCommand({ Name: '/app/x', MaxResults: 51 })), 'ValidationException');
    await refusedWith(c.send(new GetParameterHistoryCommand({ Name: '/app/x', NextToken: 'bogus' })), 'InvalidNextToken');
    await refusedWith(c.send(new GetParameterHistoryCommand({ Name: '/app/none' })), 'ParameterNotFound');
  }),
);

History('should keep the latest 100 versions and refuse to drop a labelled one', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'v1' });
    for (let n = 2; n <= 101; n++) await put(c, { Name: '/app/x', Value: `v${n}`, Overwrite: true });
    const versions = ssm.parameters('us-east-1').get('/app/x')?.versions ?? [];
    assert.is(versions.length, 100);
    assert.is(versions[0]?.version, 2);
    await refusedWith(get(c, '/app/x:1'), 'ParameterVersionNotFound');
    versions[0]?.labels.push('pinned');
    await refusedWith(put(c, { Name: '/app/x', Value: 'v102', Overwrite: true }), 'ParameterMaxVersionLimitExceeded');
    assert.is(ssm.value('us-east-1', '/app/x'), 'v101');
  }),
);

// ---------------------------------------------------------------------------------------------

const Tags = suite('ssm tags');

Tags('should keep tags given at creation and merge added ones', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'v', Tags: [{ Key: 'team', Value: 'web' }, { Key: 'env', Value: 'dev' }] });
    await c.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/x', Tags: [{ Key: 'env', Value: 'prod' }] }));
    const { TagList } = await c.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/x' }));
    const tags = Object.fromEntries((TagList ?? []).map((t) => [t.Key, t.Value]));
    assert.equal(tags, { team: 'web', env: 'prod' });
    assert.is(ssm.parameters('us-east-1').get('/app/x')?.tags.get('env'), 'prod');
  }),
);

Tags('should answer InvalidResourceId for an unknown parameter and InvalidResourceType for other types', () =>
  withSsm(async ({ client }) => {
    const c = client();
    await refusedWith(
      c.send(new AddTagsToResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/none', Tags: [{ Key: 'k', Value: 'v' }] })),
      'InvalidResourceId',
    );
    await refusedWith(c.send(new ListTagsForResourceCommand({ ResourceType: 'Parameter', ResourceId: '/app/none' })), 'InvalidResourceId');
    await put(c, { Name: '/app/x', Value: 'v' });
    await refusedWith(c.send(new ListTagsForResourceCommand({ ResourceType: 'Document', ResourceId: '/app/x' })), 'InvalidResourceType');
  }),
);

// ---------------------------------------------------------------------------------------------

const Wire = suite('ssm faults, regions and wire');

Wire('should answer ThrottlingException when the action is throttled, and count it', () =>
  withSsm(async ({ client, faults, counts, ssm }) => {
    faults.set('PutParameter', { throttleRate: 1 });
    const error = await refusedWith(put(client(), { Name: '/app/x', Value: 'v' }), 'ThrottlingException');
    assert.is(error.message, 'Rate exceeded');
    assert.is(counts.errors('PutParameter', 'ThrottlingException'), 1);
    assert.is(ssm.value('us-east-1', '/app/x'), undefined);
    faults.clear('PutParameter');
    await put(client(), { Name: '/app/x', Value: 'v' });
    assert.is(counts.ok('PutParameter'), 1);
  }),
);

Wire('should throttle with a token bucket per action', () =>
  withSsm(async ({ client, faults, clock }) => {
    const c = client();
    await put(c, { Name: '/app/x', Value: 'v' });
    faults.set('GetParameter', { bucket: { size: 2, refillPerSecond: 1 } });
    await get(c, '/app/x');
    await get(c, '/app/x');
    await refusedWith(get(c, '/app/x'), 'ThrottlingException');
    clock.advance(1000);
    await get(c, '/app/x');
  }),
);

Wire('should pass an injected error code through with its status', () =>
  withSsm(async ({ client, faults }) => {
    faults.set('GetParameter', { error: { code: 'InternalServerError', status: 500, times: 1 } });
    await refusedWith(get(client(), '/app/x'), 'InternalServerError', 500);
    await refusedWith(get(client(), '/app/x'), 'ParameterNotFound');
  }),
);

Wire('should refuse puts to one name with failPuts', () =>
  withSsm(async ({ client, ssm }) => {
    const c = client();
    ssm.failPuts('us-east-1', '/app/x', 'TooManyUpdates', 1);
    await refusedWith(put(c, { Name: '/app/x', Value: 'v' }), 'TooManyUpdates');
    await put(c, { Name: '/app/y', Value: 'v' });
    await put(c, { Name: '/app/x', Value: 'v' });
    assert.is(ssm.value('us-east-1', '/app/x'), 'v');
  }),
);

Wire('should answer UnrecognizedClientException for a region the account has not enabled', () =>
  withSsm(async ({ client, counts }) => {
    const error = await refusedWith(put(client('af-south-1'), { Name: '/app/x', Value: 'v' }), 'UnrecognizedClientException');
    assert.is(error.message, 'The security token included in the request is invalid.');
    assert.is(counts.errors('PutParameter', 'UnrecognizedClientException'), 1);
  }),
);

Wire('should answer in the JSON 1.1 shape, and UnknownOperationException for an unknown target', async () =>
  withSsm(async ({ url }) => {
    const headers = { 'content-type': 'application/x-amz-json-1.1' };
    const ok = await fetch(url, { method: 'POST', headers: { ...headers, 'x-amz-target': 'AmazonSSM.PutParameter' }, body: JSON.stringify({ Name: '/app/x', Value: 'v', Type: 'String' }) });
    assert.is(ok.status, 200);
    assert.is(ok.headers.get('content-type'), 'application/x-amz-json-1.1');
    assert.ok(ok.headers.get('x-amzn-requestid'));
    assert.equal(await ok.json(), { Version: 1, Tier: 'Standard' });
    const missing = await fetch(url, { method: 'POST', headers: { ...headers, 'x-amz-target': 'AmazonSSM.GetParameter' }, body: JSON.stringify({ Name: '/app/none' }) });
    assert.is(missing.status, 400);
    assert.is(missing.headers.get('x-amzn-errortype'), 'ParameterNotFound');
    assert.is(((await missing.json()) as { __type: string }).__type, 'ParameterNotFound');
    const unknown = await fetch(url, { method: 'POST', headers: { ...headers, 'x-amz-target': 'AmazonSSM.FlyToTheMoon' }, body: '{}' });
    assert.is(unknown.status, 400);
    assert.is(((await unknown.json()) as { __type: string }).__type, 'UnknownOperationException');
  }),
);

PutGet.run();
Names.run();
Images.run();
History.run();
Tags.run();
Wire.run();
