/**
 * The Puppet faces: each action names the sidecar method it calls, which of the method's
 * parameters are positional, and how its result is shown on the console. Options are
 * the method's remaining parameters, so they are never described twice.
 */
import type { MethodName } from './methods.ts';

export interface Column {
  readonly key: string;
  readonly heading: string;
}

export type Render =
  | {
      readonly kind: 'table';
      readonly columns: readonly Column[];
      readonly empty: string;
      /** The rows are under this key of the result, not the result itself. */
      readonly rowsKey?: string;
      /** A true value under this key of the result makes the command exit 1 after printing. */
      readonly failKey?: string;
    }
  | { readonly kind: 'record' }
  /** Ruby `format` string over the result's keys, e.g. `Group %{name} created`. */
  | { readonly kind: 'message'; readonly format: string };

export interface ActionDef {
  readonly name: string;
  readonly summary: string;
  readonly description: string;
  readonly method: MethodName;
  readonly positional: readonly string[];
  readonly render: Render;
  readonly examples: readonly string[];
}

export interface FaceDef {
  readonly name: string;
  readonly version: string;
  readonly summary: string;
  readonly description: string;
  /**
   * Render each action to lib/puppet/face/<face>/<action>.rb. Puppet loads those files for
   * whichever module defines the face, which is how actions join another module's face.
   */
  readonly separateActionFiles: boolean;
  readonly actions: readonly ActionDef[];
}

const col = (key: string, heading: string): Column => ({ key, heading });

export const autoamiFace: FaceDef = {
  name: 'autoami',
  version: '0.1.0',
  summary: 'Bake EBS-backed AMIs when a role\'s Puppet configuration changes',
  description:
    'Defines groups (roles), bakes a new AMI for a group when a Puppet run on a fresh ' +
    'instance of it makes changes, and shows what was baked. Every action talks to the ' +
    'autoami sidecar over its Unix socket.',
  separateActionFiles: false,
  actions: [
    {
      name: 'new_group',
      summary: 'Define a group (role) to bake',
      description:
        'Stores a group: the AMI to start from, how to launch and reach the instance, where it is classified, and where each new image ' +
        'is delivered: copies to other regions, encryption, accounts it is shared with, deprecation, and how many old images are kept.',
      method: 'group.create',
      positional: ['name'],
      render: { kind: 'message', format: 'Created group %{name} from %{image}' },
      examples: [
        'puppet autoami new_group --enc-user admin --enc-pass secret --image ami-0abc1234 --keyfile /etc/autoami/deploy.pem --keyname deploy --login ec2-user --node-group wordpress --puppetserver puppet.example.com --type t3.micro wordpress',
        'puppet autoami new_group ... --copy-to eu-west-1,ap-southeast-2 --encrypt --kms-key default=arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef --share-with 210987654321 --deprecate-after 180d --keep 3 --keep-days 30 wordpress',
      ],
    },
    {
      name: 'delete_group',
      summary: 'Remove a group (its AMIs stay)',
      description: 'Removes the group definition. AMIs already baked for it are left in the account.',
      method: 'group.delete',
      positional: ['name'],
      render: { kind: 'message', format: 'Deleted group %{name}' },
      examples: ['puppet autoami delete_group wordpress'],
    },
    {
      name: 'groups',
      summary: 'List every group and its current image',
      description: 'Lists the groups with their settings and current image, in every region it was delivered to, and the base image each follows; secrets are shown as [redacted].',
      method: 'group.list',
      positional: [],
      render: {
        kind: 'table',
        columns: [
          col('name', 'GROUP'),
          col('image', 'IMAGE'),
          col('type', 'TYPE'),
          col('region', 'REGION'),
          col('images', 'IMAGES BY REGION'),
          col('channels', 'CHANNELS'),
          col('follows', 'FOLLOWS'),
          col('bootstrap', 'BOOTSTRAP'),
          col('node_group', 'NODE GROUP'),
          col('puppetserver', 'PUPPET SERVER'),
        ],
        empty: 'No groups defined. Add one with: puppet autoami new_group ...',
      },
      examples: ['puppet autoami groups', 'puppet autoami groups --render-as json'],
    },
    {
      name: 'run',
      summary: 'Bake every group (or the named ones) in parallel',
      description:
        "Launches one instance per group from its latest AMI and lets the Puppet agent run once on it. A run that changes something " +
        'becomes the group\'s new AMI; no change, no AMI. A group that follows a base image (--base-image-from, --base-image-filter) and finds a new one ' +
        'launches from it and makes an AMI even when nothing else changed. With --wait it prints each state change and a final table, and exits ' +
        "non-zero when any bake failed. Puppet's own --noop says what would be launched and launches nothing. A group that is " +
        'still baking is not started twice.',
      method: 'bake.run',
      positional: [],
      render: {
        kind: 'table',
        rowsKey: 'bakes',
        failKey: 'failed',
        columns: [
          col('group', 'GROUP'),
          col('state', 'STATE'),
          col('outcome', 'OUTCOME'),
          col('instance_id', 'INSTANCE'),
          col('image', 'NEW AMI'),
          col('reason', 'REASON'),
        ],
        empty: 'No groups to bake. Add one with: puppet autoami new_group ...',
      },
      examples: ['puppet autoami run', 'puppet autoami run --groups wordpress,db --wait', 'puppet autoami run --noop'],
    },
    {
      name: 'history',
      summary: "Show a group's bakes and image lineage",
      description:
        'Every finished bake of the group and every promotion and rollback of its channels, newest first: when, the outcome, the channel and who asked, ' +
        'the AMI in each region and its parent, the Puppet config version, the changes, what the catalog check found before the bake launched ' +
        '(unchanged, or the resources added +, removed - and changed ~ with their parameters), whether --verify booted the new image and found it converged (or the resources its noop run would still change), the new base image a bake started from (and the one it replaced), and what retention said of the image (kept because a launch ' +
        'template or an instance uses it, or retired).',
      method: 'group.history',
      positional: ['name'],
      render: {
        kind: 'table',
        columns: [
          col('time', 'TIME'),
          col('event', 'EVENT'),
          col('outcome', 'OUTCOME'),
          col('channel', 'CHANNEL'),
          col('by', 'BY'),
          col('image', 'AMI'),
          col('parent', 'PARENT'),
          col('config_version', 'CONFIG'),
          col('changes', 'CHANGES'),
          col('catalog', 'CATALOG'),
          col('verification', 'VERIFIED'),
          col('base', 'NEW BASE'),
          col('current', 'CURRENT'),
          col('images', 'IMAGES BY REGION'),
          col('deregistered', 'RETIRED'),
          col('retention', 'RETENTION'),
        ],
        empty: 'No finished bakes for this group yet.',
      },
      examples: ['puppet autoami history wordpress'],
    },
    {
      name: 'rollback',
      summary: 'Point a group or one channel back at an earlier image',
      description:
        'Makes an earlier image of the group (by default the parent of the channel\'s current image) the one channel latest is on: the one its next ' +
        'bake and launches start from, in every region it was delivered to, with deregistration protection. The channel\'s SSM parameters are pointed ' +
        'back and each launch template\'s default becomes the version that holds the image (no version is deleted). With --channel only that ' +
        'channel moves. No instance refresh is started unless --refresh is given.',
      method: 'group.rollback',
      positional: ['name'],
      render: { kind: 'message', format: 'Rolled %{name} channel %{channel} back to %{image} (was %{previous}); by region: %{images}; %{published}' },
      examples: [
        'puppet autoami rollback wordpress',
        'puppet autoami rollback wordpress --to ami-0abc1234',
        'puppet autoami rollback wordpress --channel prod --refresh',
      ],
    },
    {
      name: 'promote',
      summary: 'Publish an image of a group to a channel',
      description:
        "Publishes one of the group's images (by default the one channel latest is on) to the targets of one channel: its SSM parameters in every " +
        'region the image is in, a new default version of its launch templates, and an instance refresh of its Auto Scaling groups, followed to its end. ' +
        'The channel moves to the image only when every target took it; history records who promoted what, and when.',
      method: 'group.promote',
      positional: ['name'],
      render: { kind: 'message', format: 'Promoted %{image} to channel %{channel} of %{name} (was %{previous}): %{published}' },
      examples: ['puppet autoami promote wordpress --channel prod', 'puppet autoami promote wordpress --channel prod --image ami-0abc1234'],
    },
    {
      name: 'update_group',
      summary: "Change a group's settings",
      description:
        'Changes the settings given and keeps the others; a list option given replaces the list the group had. The group as it would be is checked ' +
        'as new_group checks it (regions, keys, publication targets), and nothing is stored unless all of it passes. The name, base image and region stay.',
      method: 'group.update',
      positional: ['name'],
      render: { kind: 'message', format: 'Updated group %{name}: %{changed}' },
      examples: [
        'puppet autoami update_group wordpress --ssm-parameter /wordpress/ami,prod:/wordpress/prod/ami --launch-template lt-0123456789abcdef0',
        'puppet autoami update_group wordpress --instance-refresh prod:wordpress-asg --min-healthy-percentage 75',
      ],
    },
    {
      name: 'list',
      summary: 'List the instances being baked now',
      description:
        'Shows every unfinished bake with its state and its instance as EC2 sees it now. An instance that EC2 no longer knows is shown as gone.',
      method: 'bake.list',
      positional: [],
      render: {
        kind: 'table',
        columns: [
          col('group', 'GROUP'),
          col('state', 'STATE'),
          col('instance_id', 'INSTANCE'),
          col('instance_state', 'EC2 STATE'),
          col('dns', 'DNS'),
          col('updated_at', 'SINCE'),
        ],
        empty: 'Nothing is being baked.',
      },
      examples: ['puppet autoami list'],
    },
    {
      name: 'status',
      summary: 'Show the sidecar, store and queue health',
      description: 'Asks the sidecar for its version, store backend and health, and queue depth.',
      method: 'status',
      positional: [],
      render: { kind: 'record' },
      examples: ['puppet autoami status'],
    },
  ],
};

const nodeAwsFace: FaceDef = {
  name: 'node_aws',
  // The version cloud provisioning modules gave this face: actions only merge into a face
  // of the same version.
  version: '0.0.1',
  summary: 'View and manage Amazon AWS EC2 nodes',
  description: "AMIs of the account, new AMIs from running instances, and instances launched from a group's latest AMI.",
  separateActionFiles: true,
  actions: [
    {
      name: 'images',
      summary: 'List the AMIs owned by the account',
      description:
        "Lists the account's AMIs, AutoAMI's among them, in each region asked for: name, state, architecture, visibility, " +
        'encryption, deregistration protection, deprecation time and description.',
      method: 'image.list',
      positional: [],
      render: {
        kind: 'table',
        columns: [
          col('region', 'REGION'),
          col('id', 'AMI'),
          col('name', 'NAME'),
          col('state', 'STATE'),
          col('architecture', 'ARCH'),
          col('public', 'PUBLIC'),
          col('root_device_type', 'ROOT'),
          col('encrypted', 'ENCRYPTED'),
          col('deregistration_protection', 'PROTECTION'),
          col('deprecation_time', 'DEPRECATES'),
          col('description', 'DESCRIPTION'),
        ],
        empty: 'The account owns no AMIs in these regions.',
      },
      examples: ['puppet node_aws images', 'puppet node_aws images --region eu-west-1,us-west-2 --render-as json'],
    },
    {
      name: 'new_ami',
      summary: 'Create an AMI from a running EBS-backed instance',
      description:
        'Images the instance (by id or public DNS name) and prints the new AMI id. With --terminate it waits until the image is available, then terminates the instance.',
      method: 'image.create',
      positional: ['server'],
      render: { kind: 'message', format: '%{image_id}' },
      examples: ['puppet node_aws new_ami ec2-203-0-113-5.compute-1.amazonaws.com --description "wordpress 42" --manifest-version 42 --terminate'],
    },
    {
      name: 'launch',
      summary: "Launch one instance of a group from its latest AMI",
      description: "Starts one instance from the group's current image with the group's type, key pair, subnet and security group, and waits until it runs.",
      method: 'group.launch',
      positional: ['name'],
      render: { kind: 'message', format: 'Successfully launched instance at %{dns}' },
      examples: ['puppet node_aws launch wordpress'],
    },
  ],
};

export const faces: readonly FaceDef[] = [autoamiFace, nodeAwsFace];
