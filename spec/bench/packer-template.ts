/**
 * The Packer side of the packer benchmark: a JSON template for Packer 1.6.6's amazon-ebs
 * builder aimed at the EC2 endpoint, and the environment Packer runs in. No communicator:
 * the image is the base image as it boots, which is all the comparison needs (the bake's own
 * work, the Puppet run, is left out of both floors).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The tag Packer puts on its image (and snapshot), checked after the build. */
export const PACKER_TAG = { key: 'built-by', value: 'packer-bench' } as const;

export function packerTemplate(sourceAmi: string): object {
  return {
    variables: { endpoint: '', ami_name: '' },
    builders: [
      {
        type: 'amazon-ebs',
        region: 'us-east-1',
        source_ami: sourceAmi,
        instance_type: 't3.micro',
        ami_name: '{{user `ami_name`}}',
        communicator: 'none',
        custom_endpoint_ec2: '{{user `endpoint`}}',
        skip_region_validation: true,
        skip_credential_validation: true,
        skip_metadata_api_check: true,
        tags: { [PACKER_TAG.key]: PACKER_TAG.value },
      },
    ],
  };
}

/** Writes the template into `dir`; returns its path. */
export function writePackerTemplate(dir: string, sourceAmi: string): string {
  const file = join(dir, 'packer.json');
  writeFileSync(file, `${JSON.stringify(packerTemplate(sourceAmi), null, 2)}\n`);
  return file;
}

/**
 * Fake credentials, no instance metadata, no version check against checkpoint.hashicorp.com,
 * and the waiters' poll interval: unset for Packer's default (15 s), else whole seconds.
 */
export function packerEnv(cacheDir: string, pollSeconds?: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('AWS_') || name.startsWith('PACKER_')) delete env[name];
  Object.assign(env, {
    AWS_ACCESS_KEY_ID: 'AKIDPACKERBENCH',
    AWS_SECRET_ACCESS_KEY: 'packer-bench-secret',
    AWS_EC2_METADATA_DISABLED: 'true',
    CHECKPOINT_DISABLE: '1',
    PACKER_CACHE_DIR: cacheDir,
  });
  if (pollSeconds !== undefined) {
    if (!Number.isInteger(pollSeconds) || pollSeconds < 1) throw new RangeError(`AWS_POLL_DELAY_SECONDS takes whole seconds, got ${pollSeconds}`);
    env.AWS_POLL_DELAY_SECONDS = String(pollSeconds);
  }
  return env;
}
