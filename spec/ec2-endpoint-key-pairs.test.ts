/** The EC2 endpoint's key pairs: created once with their private key, described, deleted. */
import { createHash, createPrivateKey } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CreateKeyPairCommand, CreateTagsCommand, DeleteKeyPairCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import { rejection, withEc2 } from './support/ec2-endpoint-client.ts';

const Create = suite('ec2 CreateKeyPair');

Create('should hand out a PEM RSA key whose fingerprint is the SHA-1 of its PKCS#8 DER', () =>
  withEc2({}, async (ep, ec2) => {
    const reply = await ec2.send(new CreateKeyPairCommand({ KeyName: 'packer_temp' }));
    assert.is(reply.KeyName, 'packer_temp');
    assert.match(reply.KeyPairId ?? '', /^key-[0-9a-f]{17}$/);
    assert.match(reply.KeyMaterial ?? '', /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----$/);
    const key = createPrivateKey(reply.KeyMaterial as string);
    assert.is(key.asymmetricKeyType, 'rsa');
    assert.is(key.asymmetricKeyDetails?.modulusLength, 2048);
    const der = key.export({ type: 'pkcs8', format: 'der' });
    assert.is(reply.KeyFingerprint, createHash('sha1').update(der).digest('hex').match(/../g)?.join(':'));
    assert.equal(ep.keyPairs().map((k) => k.keyName), ['packer_temp']);
  }),
);

Create('should hand out an ED25519 key in OpenSSH format when asked', () =>
  withEc2({}, async (_ep, ec2) => {
    const reply = await ec2.send(new CreateKeyPairCommand({ KeyName: 'edkey', KeyType: 'ed25519' }));
    const material = reply.KeyMaterial ?? '';
    assert.match(material, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+\n-----END OPENSSH PRIVATE KEY-----$/);
    const body = Buffer.from(material.split('\n').slice(1, -1).join(''), 'base64');
    assert.is(body.subarray(0, 15).toString('latin1'), 'openssh-key-v1\0');
    const described = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['edkey'], IncludePublicKey: true }));
    const pair = described.KeyPairs?.[0];
    assert.is(pair?.KeyType, 'ed25519');
    const blob = Buffer.from((pair?.PublicKey ?? '').split(' ')[1] ?? '', 'base64');
    assert.is(pair?.KeyFingerprint, createHash('sha256').update(blob).digest('base64'));
    // The public blob inside the private key file is the one DescribeKeyPairs shows.
    assert.ok(body.includes(blob));
  }),
);

Create('should refuse a name already in use with InvalidKeyPair.Duplicate', () =>
  withEc2({}, async (_ep, ec2) => {
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'twice' }));
    const error = await rejection(ec2.send(new CreateKeyPairCommand({ KeyName: 'twice' })));
    assert.is(error.name, 'InvalidKeyPair.Duplicate');
    assert.is(error.message, "The keypair 'twice' already exists.");
    assert.is(error.$metadata.httpStatusCode, 400);
  }),
);

Create('should refuse an unknown key type and a missing name', () =>
  withEc2({}, async (ep, ec2) => {
    const badType = await rejection(ec2.send(new CreateKeyPairCommand({ KeyName: 'k', KeyType: 'dsa' as 'rsa' })));
    assert.is(badType.name, 'InvalidParameterValue');
    const noName = await rejection(ec2.send(new CreateKeyPairCommand({} as { KeyName: string })));
    assert.is(noName.name, 'MissingParameter');
    assert.equal(ep.keyPairs(), []);
  }),
);

Create('should keep the tags of a key-pair tag specification', () =>
  withEc2({}, async (_ep, ec2) => {
    const reply = await ec2.send(
      new CreateKeyPairCommand({ KeyName: 'tagged', TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'owner', Value: 'bench' }] }] }),
    );
    assert.equal(reply.Tags, [{ Key: 'owner', Value: 'bench' }]);
    const filtered = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'tag:owner', Values: ['bench'] }] }));
    assert.equal(filtered.KeyPairs?.map((k) => k.KeyName), ['tagged']);
    await ec2.send(new CreateTagsCommand({ Resources: [reply.KeyPairId as string], Tags: [{ Key: 'stage', Value: 'two' }] }));
    const retagged = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['tagged'] }));
    assert.equal(retagged.KeyPairs?.[0]?.Tags, [{ Key: 'owner', Value: 'bench' }, { Key: 'stage', Value: 'two' }]);
  }),
);

Create.run();

const Describe = suite('ec2 DescribeKeyPairs and DeleteKeyPair');

Describe('should describe by name and id without the private key, and fail on an unknown one', () =>
  withEc2({}, async (_ep, ec2) => {
    const made = await ec2.send(new CreateKeyPairCommand({ KeyName: 'one' }));
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'two' }));
    const all = await ec2.send(new DescribeKeyPairsCommand({}));
    assert.equal(all.KeyPairs?.map((k) => k.KeyName), ['one', 'two']);
    assert.is(all.KeyPairs?.[0]?.PublicKey, undefined);
    assert.ok(all.KeyPairs?.[0]?.CreateTime instanceof Date);
    const byId = await ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: [made.KeyPairId as string] }));
    assert.is(byId.KeyPairs?.[0]?.KeyFingerprint, made.KeyFingerprint);
    assert.is(byId.KeyPairs?.[0]?.KeyType, 'rsa');
    const error = await rejection(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['one', 'nope'] })));
    assert.is(error.name, 'InvalidKeyPair.NotFound');
    assert.is(error.message, "The key pair 'nope' does not exist");
  }),
);

Describe('should delete by name or id, and answer true for a key pair that is not there', () =>
  withEc2({}, async (ep, ec2) => {
    const one = await ec2.send(new CreateKeyPairCommand({ KeyName: 'one' }));
    const two = await ec2.send(new CreateKeyPairCommand({ KeyName: 'two' }));
    const byName = await ec2.send(new DeleteKeyPairCommand({ KeyName: 'one' }));
    assert.is(byName.Return, true);
    assert.is(byName.KeyPairId, one.KeyPairId);
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId: two.KeyPairId as string }));
    assert.equal(ep.keyPairs(), []);
    const again = await ec2.send(new DeleteKeyPairCommand({ KeyName: 'one' }));
    assert.is(again.Return, true);
    const gone = await rejection(ec2.send(new DescribeKeyPairsCommand({ KeyNames: ['one'] })));
    assert.is(gone.name, 'InvalidKeyPair.NotFound');
    // The name is free again.
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'one' }));
  }),
);

Describe.run();
