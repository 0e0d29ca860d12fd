/** LaunchSpec → RunInstances input, and what the adapter must look up first to build it. */
import type { RunInstancesCommandInput } from '@aws-sdk/client-ec2';
import { Ec2Error } from '../errors.ts';
import type { Call, Ec2Calls } from './calls.ts';
import { tagList } from './records.ts';
import type { LaunchSpec } from './types.ts';

export function launchContext(spec: LaunchSpec): Call {
  return {
    action: 'RunInstances',
    image: spec.image,
    instanceType: spec.type,
    keyname: spec.keyname,
    ...(spec.subnet && { subnet: spec.subnet }),
    ...(spec.securityGroup && { securityGroup: spec.securityGroup }),
  };
}

/**
 * The base image's root device name, which an encrypted-root launch must name in its block
 * device mapping: EC2 only overrides a volume of the image when the device names match, and
 * the name differs between images (/dev/xvda, /dev/sda1). Null when the launch keeps the
 * image's volumes as they are.
 */
export async function rootDeviceToEncrypt(calls: Ec2Calls, spec: LaunchSpec): Promise<string | null> {
  if (spec.encryptRoot === null) return null;
  const image = await calls.imageById(spec.image);
  const root = image.RootDeviceName;
  if (image.RootDeviceType === 'instance-store' || !root) {
    // Only EBS volumes can be encrypted; an instance-store root would launch unencrypted all the same.
    const message = `image: ${spec.image} has no EBS root volume in ${calls.region}, so its root cannot be encrypted at launch`;
    throw new Ec2Error('InvalidBlockDeviceMapping', message, { field: 'image' });
  }
  return root;
}

export function runInstancesInput(spec: LaunchSpec, encryptDevice: string | null): RunInstancesCommandInput {
  const tags = tagList(spec.tags);
  const input: RunInstancesCommandInput = {
    ImageId: spec.image,
    InstanceType: spec.type as RunInstancesCommandInput['InstanceType'],
    MinCount: 1,
    MaxCount: 1,
    // EC2 answers a repeated token with the first launch, so a resumed bake never launches twice.
    ClientToken: spec.clientToken,
    MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
  };
  if (spec.keyname) input.KeyName = spec.keyname;
  if (spec.subnet) input.SubnetId = spec.subnet;
  // Ids work in any VPC; a bare name only in the default VPC, which is all a name can mean.
  if (spec.securityGroup) input[spec.securityGroup.startsWith('sg-') ? 'SecurityGroupIds' : 'SecurityGroups'] = [spec.securityGroup];
  if (spec.userData !== null) input.UserData = Buffer.from(spec.userData, 'utf8').toString('base64');
  if (tags.length) input.TagSpecifications = [{ ResourceType: 'instance', Tags: tags }, { ResourceType: 'volume', Tags: tags }];
  if (spec.encryptRoot !== null && encryptDevice !== null) {
    // Only the encryption is overridden: size, type and snapshot stay the image's own.
    const kms = spec.encryptRoot.kmsKeyId;
    input.BlockDeviceMappings = [{ DeviceName: encryptDevice, Ebs: { Encrypted: true, ...(kms !== null && { KmsKeyId: kms }) } }];
  }
  return input;
}
