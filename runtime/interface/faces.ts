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
  | { readonly kind: 'table'; readonly columns: readonly Column[]; readonly empty: string }
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
  actions: [
    {
      name: 'new_group',
      summary: 'Define a group (role) to bake',
      description: 'Stores a group: the AMI to start from, how to launch and reach the instance, and where it is classified.',
      method: 'group.create',
      positional: ['name'],
      render: { kind: 'message', format: 'Created group %{name} from %{image}' },
      examples: [
        'puppet autoami new_group --enc-user admin --enc-pass secret --image ami-0abc1234 --keyfile /etc/autoami/deploy.pem --keyname deploy --login ec2-user --node-group wordpress --puppetserver puppet.example.com --type t3.micro wordpress',
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
      description: 'Lists the groups with their settings and current image; secrets are shown as [redacted].',
      method: 'group.list',
      positional: [],
      render: {
        kind: 'table',
        columns: [
          col('name', 'GROUP'),
          col('image', 'IMAGE'),
          col('type', 'TYPE'),
          col('region', 'REGION'),
          col('bootstrap', 'BOOTSTRAP'),
          col('node_group', 'NODE GROUP'),
          col('puppetserver', 'PUPPET SERVER'),
        ],
        empty: 'No groups defined. Add one with: puppet autoami new_group ...',
      },
      examples: ['puppet autoami groups', 'puppet autoami groups --render-as json'],
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

export const faces: readonly FaceDef[] = [autoamiFace];
