/**
 * The sidecar's methods and their parameter schemas: the single definition that the
 * server validates against and the generator renders Ruby options from.
 */
import type { FieldDef, ParamsOf, Schema } from './schema.ts';
import { amiId, groupName, hostName, instanceType, kmsKeyMapping, label, region, securityGroupId, sharePrincipal, subnetId } from './fields.ts';
import { PATTERN_WORDS, jsPattern } from './patterns.ts';
import { BAKE_ON, RESOURCE_REF_WORDS, resourceRefPattern } from './resource-refs.ts';
import { AMI_NAME_PATTERN_WORDS, BASE_OWNER_WORDS, BASE_PARAMETER_WORDS, amiNamePattern, baseOwnerPattern, baseParameterPattern } from './base-images.ts';
import { ASG_NAME, CHANNEL_WORDS, DEFAULT_CHANNEL, LAUNCH_TEMPLATE, SSM_PARAMETER_NAME, channelPattern, targetPattern } from './targets.ts';

export const PROTOCOL_VERSION = 1;

/** The longest facts JSON a report carries: the whole report must stay within one protocol line (1 MiB). */
export const REPORT_FACTS_MAX = 512 * 1024;

/** What a method is, apart from its name: the key it has in METHODS. */
export interface MethodSpec {
  readonly summary: string;
  readonly params: Schema;
}

export interface MethodDef extends MethodSpec {
  readonly name: MethodName;
}

const BOOTSTRAP_MODES = ['ssh', 'userdata'] as const;

const hello = {
  summary: 'Open a session and agree on the protocol version',
  params: {
    protocol: { type: 'integer', summary: 'Protocol version the client speaks', required: true, min: 1, max: 1000 },
    client: { type: 'string', summary: 'Who is calling, for the log', maxLength: 128 },
    user: { type: 'string', summary: "The caller's login, recorded with what it promotes or rolls back", maxLength: 64 },
  },
} as const satisfies MethodSpec;

const groupCreate = {
  summary: 'Define a new group (role) to bake',
  params: {
    name: groupName,
    image: { ...amiId, summary: 'Base AMI the first bake starts from', required: true },
    type: { ...instanceType, required: true },
    keyname: { ...label('EC2 key pair the instance is launched with', 'KEY'), required: true },
    keyfile: {
      type: 'string',
      summary: 'Private key file for SSH to the instance (readable by the sidecar)',
      placeholder: 'PATH',
      required: true,
      check: 'readable_file',
    },
    login: {
      type: 'string',
      summary: 'SSH login on the instance',
      placeholder: 'USER',
      required: true,
      maxLength: 32,
      pattern: /^[a-z_][a-z0-9_-]{0,31}$/,
      expected: 'a POSIX user name such as ec2-user',
    },
    puppetserver: { ...hostName, summary: 'Puppet server the agent runs against', required: true },
    node_group: { ...label('Node group the instance is pinned to', 'GROUP'), required: true },
    enc_user: { ...label('Console (RBAC) login for the classifier', 'U'), required: true },
    enc_pass: { ...label('Console (RBAC) password for the classifier', 'P', 1024), required: true, secret: true },
    enc_server: { ...hostName, summary: 'Classifier host (default: the puppetserver)' },
    enc_port: { type: 'integer', summary: 'Classifier port', placeholder: 'PORT', min: 1, max: 65535, default: 443 },
    region: { ...region, default: 'us-east-1' },
    subnet: subnetId,
    security_group: securityGroupId,
    bootstrap: {
      type: 'string',
      summary: 'How the agent is started: ssh or userdata',
      placeholder: 'MODE',
      values: BOOTSTRAP_MODES,
      default: 'ssh',
    },
    keep: { type: 'integer', summary: 'AutoAMI images kept per group', placeholder: 'N', min: 1, max: 1000, default: 5 },
    template: {
      type: 'string',
      summary: "The group's own bootstrap script template (Handlebars; values only through its shell and yaml helpers)",
      placeholder: 'PATH',
      check: 'readable_file',
    },
    keep_failed: {
      type: 'boolean',
      summary: 'Leave the instance of a failed run running for inspection, and keep an image --verify refused (tagged autoami:unverified)',
      default: false,
    },
    verify: {
      type: 'boolean',
      summary: 'Boot each new image and promote it only when a noop Puppet run on it finds nothing left to change',
      default: false,
    },
    keep_days: {
      type: 'integer',
      summary: 'Also keep every image younger than D days (retention deletes only what both --keep and this allow)',
      placeholder: 'D',
      min: 1,
      max: 36500,
    },
    copy_to: { ...region, type: 'string[]', summary: 'Copy each new image to these regions too, comma-separated', placeholder: 'REGION[,REGION...]' },
    encrypt: { type: 'boolean', summary: "Encrypt the images' volumes, in every region (the account's default EBS key unless --kms-key names one)", default: false },
    kms_key: kmsKeyMapping,
    share_with: sharePrincipal,
    deprecate_after: {
      type: 'string',
      summary: 'Schedule each new image for deprecation this long after it is made, in every region (e.g. 90d)',
      placeholder: 'DURATION',
      maxLength: 32,
      pattern: jsPattern('duration'),
      expected: PATTERN_WORDS.duration,
    },
    ssm_parameter: {
      type: 'string[]',
      summary: "SSM parameters that hold each region's image id, [CHANNEL:]NAME, comma-separated (channel latest unless named)",
      placeholder: 'NAME|CHANNEL:NAME[,...]',
      maxLength: 1044,
      pattern: targetPattern(SSM_PARAMETER_NAME),
      expected: `[CHANNEL:]NAME, NAME an SSM parameter name (letters, digits, _ . - /) and CHANNEL ${CHANNEL_WORDS}`,
    },
    launch_template: {
      type: 'string[]',
      summary: "Launch templates (id or name, in the group's region) that get a new default version with the image, [CHANNEL:]TEMPLATE, comma-separated",
      placeholder: 'TEMPLATE|CHANNEL:TEMPLATE[,...]',
      maxLength: 161,
      pattern: targetPattern(LAUNCH_TEMPLATE),
      expected: `[CHANNEL:]TEMPLATE, TEMPLATE a launch template id (lt-...) or name and CHANNEL ${CHANNEL_WORDS}`,
    },
    instance_refresh: {
      type: 'string[]',
      summary: "Auto Scaling groups (in the group's region) whose instances are refreshed onto the image, [CHANNEL:]ASG_NAME, comma-separated",
      placeholder: 'ASG|CHANNEL:ASG[,...]',
      maxLength: 288,
      pattern: targetPattern(ASG_NAME),
      expected: `[CHANNEL:]ASG, ASG an Auto Scaling group name without : or , and CHANNEL ${CHANNEL_WORDS}`,
    },
    min_healthy_percentage: {
      type: 'integer',
      summary: 'Share of each Auto Scaling group kept in service while an instance refresh replaces the rest',
      placeholder: 'PERCENT',
      min: 0,
      max: 100,
      default: 90,
    },
    refresh_replace_all: {
      type: 'boolean',
      summary: 'An instance refresh also replaces instances already on the image (SkipMatching off)',
      default: false,
    },
    bake_on: {
      type: 'string',
      summary: 'Which changes make an image: intentional (a run that only repairs drift on the fresh instance does not) or any',
      placeholder: 'WHICH',
      values: BAKE_ON,
      default: 'intentional',
    },
    ignore_resources: {
      type: 'string[]',
      summary: 'Resources whose changes never make an image, Type[title] with * for any text, comma-separated',
      placeholder: 'RESOURCE[,RESOURCE...]',
      maxLength: 512,
      pattern: resourceRefPattern(),
      expected: RESOURCE_REF_WORDS,
    },
    base_image_from: {
      type: 'string',
      summary: "Follow the base image this SSM parameter names (in the group's region): a new one is a reason to bake, from it",
      placeholder: 'NAME',
      maxLength: 1011,
      pattern: baseParameterPattern(),
      expected: BASE_PARAMETER_WORDS,
    },
    base_image_filter: {
      type: 'string',
      summary: "Follow the newest available image of --base-image-owner whose name matches this pattern (* and ? as wildcards): a new one is a reason to bake, from it",
      placeholder: 'PATTERN',
      maxLength: 128,
      pattern: amiNamePattern(),
      expected: AMI_NAME_PATTERN_WORDS,
    },
    base_image_owner: {
      type: 'string',
      summary: 'Whose images --base-image-filter looks at: an account id, or self, amazon or aws-marketplace',
      placeholder: 'OWNER',
      maxLength: 15,
      pattern: baseOwnerPattern(),
      expected: BASE_OWNER_WORDS,
    },
  },
} as const satisfies MethodSpec;

/** What update_group may change: every setting but the name, the base image and the home region, each optional. */
const UNCHANGEABLE = ['name', 'image', 'region'] as const;
type Changeable = Exclude<keyof typeof groupCreate.params, (typeof UNCHANGEABLE)[number]>;
/** A setting as update_group takes it: no default, and a list left out stays as it was. */
type AsChange<F> = Omit<F, 'required' | 'default'> & { readonly keepAbsent: true };

function changeable(): { readonly [K in Changeable]: AsChange<(typeof groupCreate.params)[K]> } {
  const entries = Object.entries(groupCreate.params)
    .filter(([key]) => !(UNCHANGEABLE as readonly string[]).includes(key))
    .map(([key, field]) => {
      const { required: _required, default: _default, ...rest } = field as FieldDef;
      return [key, { ...rest, keepAbsent: true }];
    });
  return Object.fromEntries(entries) as { readonly [K in Changeable]: AsChange<(typeof groupCreate.params)[K]> };
}

const channel = {
  type: 'string',
  summary: 'The channel',
  placeholder: 'CHANNEL',
  maxLength: 32,
  pattern: channelPattern(),
  expected: CHANNEL_WORDS,
} as const satisfies FieldDef;

const groupUpdate = {
  summary: "Change a group's settings; a list given replaces the one it had",
  params: { name: groupName, ...changeable() },
} as const satisfies MethodSpec;

const groupPromote = {
  summary: "Publish one of the group's images to a channel's targets",
  params: {
    name: groupName,
    channel: { ...channel, summary: 'The channel to publish to', required: true },
    image: { ...amiId, summary: "The image to publish (default: the image channel latest is on)" },
  },
} as const satisfies MethodSpec;

const groupDelete = {
  summary: 'Remove a group (its AMIs stay)',
  params: { name: groupName },
} as const satisfies MethodSpec;

const groupList = {
  summary: 'Every group and its current image',
  params: {},
} as const satisfies MethodSpec;

/** For calls that are not tied to a group: the sidecar's own region unless one is named. */
const callRegion = { ...region, summary: 'AWS region (default: the sidecar config aws.region)' };

const imageList = {
  summary: 'AMIs owned by the account',
  params: {
    region: { ...callRegion, type: 'string[]', summary: 'AWS regions to list, comma-separated (default: the sidecar config aws.region)', placeholder: 'REGION[,REGION...]' },
  },
} as const satisfies MethodSpec;

const imageCreate = {
  summary: 'Create an AMI from a running EBS-backed instance',
  params: {
    server: {
      type: 'string',
      summary: 'The instance: its id or public DNS name',
      placeholder: 'SERVER',
      required: true,
      maxLength: 253,
      pattern: /^(?:i-(?:[0-9a-f]{8}|[0-9a-f]{17})|[a-zA-Z0-9](?:[a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?)$/,
      expected: 'an instance id (i-...) or a public DNS name',
    },
    description: { ...label('AMI description', 'TEXT', 255), required: true },
    manifest_version: { ...label('Puppet code version baked into the image (tagged autoami:config-version)', 'V', 255), required: true },
    terminate: { type: 'boolean', summary: 'Terminate the instance once the image is available', default: false },
    no_reboot: { type: 'boolean', summary: 'Image without rebooting the instance (file systems may be inconsistent)', default: false },
    region: callRegion,
  },
} as const satisfies MethodSpec;

const groupLaunch = {
  summary: "Launch one instance of a group from its latest AMI",
  params: { name: groupName },
} as const satisfies MethodSpec;

const bakeList = {
  summary: 'Instances being baked now, reconciled with EC2',
  params: {},
} as const satisfies MethodSpec;

const bakeRun = {
  summary: 'Bake every group, or the named ones, in parallel',
  params: {
    groups: { ...groupName, type: 'string[]', required: false, summary: 'Only these groups, comma-separated (default: every group)', placeholder: 'NAMES' },
    wait: { type: 'boolean', summary: 'Follow the bakes until every one is done; exit non-zero if any failed', default: false },
    force: { type: 'boolean', summary: "Launch every group's instance, without first checking whether its catalog changed", default: false },
    noop: {
      type: 'boolean',
      summary: "Say what would be launched, launch nothing (Puppet's own --noop flag)",
      default: false,
      puppetSetting: 'noop',
    },
  },
} as const satisfies MethodSpec;

const groupHistory = {
  summary: "A group's bakes and image lineage",
  params: { name: groupName },
} as const satisfies MethodSpec;

const groupRollback = {
  summary: 'Point a group back at an earlier image',
  params: {
    name: groupName,
    to: { ...amiId, summary: "The image to return to (default: the parent of the channel's current image)" },
    channel: { ...channel, summary: 'The channel to roll back; latest also moves the image the next bake starts from', default: DEFAULT_CHANNEL },
    refresh: { type: 'boolean', summary: "Also start an instance refresh of the channel's Auto Scaling groups", default: false },
  },
} as const satisfies MethodSpec;

const reportSubmit = {
  summary: 'A Puppet run report summary from the autoami report processor',
  params: {
    host: { type: 'string', summary: 'The certname', required: true, maxLength: 255 },
    transaction_uuid: { type: 'string', summary: 'The run', required: true, maxLength: 64 },
    configuration_version: { type: 'string', summary: 'Catalog version', maxLength: 255 },
    status: { type: 'string', summary: 'changed, unchanged or failed', required: true, maxLength: 32 },
    environment: { type: 'string', summary: 'Puppet environment', maxLength: 255 },
    time: { type: 'string', summary: 'When the run started', maxLength: 64 },
    changed: { type: 'integer', summary: 'Resources changed', required: true, min: 0, max: 10_000_000 },
    failed: { type: 'integer', summary: 'Resources failed', required: true, min: 0, max: 10_000_000 },
    failed_to_restart: { type: 'integer', summary: 'Resources failed to restart', default: 0, min: 0, max: 10_000_000 },
    corrective_change: { type: 'integer', summary: 'Corrective changes', default: 0, min: 0, max: 10_000_000 },
    changed_resources: { type: 'string[]', summary: 'Titles of changed resources', maxLength: 4096 },
    failed_resources: { type: 'string[]', summary: 'Titles of failed resources', maxLength: 4096 },
    corrective_resources: { type: 'string[]', summary: 'Titles of changed resources whose change repaired drift (corrective_change)', maxLength: 4096 },
    facts: { type: 'json', summary: "The node's facts as the master cached them, for the catalog check", maxLength: REPORT_FACTS_MAX },
    noop: { type: 'boolean', summary: 'The run was a noop run (a verification)', default: false },
    pending_resources: { type: 'string[]', summary: 'Titles of resources a noop run would have changed', maxLength: 4096 },
  },
} as const satisfies MethodSpec;

const csrCheck = {
  summary: 'Policy autosign: may this CSR be signed?',
  params: {
    certname: { type: 'string', summary: 'The certname asking', required: true, maxLength: 255 },
    csr: { type: 'string', summary: 'The PEM certificate signing request', required: true, maxLength: 65536, multiline: true },
  },
} as const satisfies MethodSpec;

const status = {
  summary: 'Sidecar, store and queue health',
  params: {},
} as const satisfies MethodSpec;

/** Every method by its wire name: the server, the handlers' types and the generator all read this. */
export const METHODS = {
  hello,
  'group.create': groupCreate,
  'group.delete': groupDelete,
  'group.list': groupList,
  'group.update': groupUpdate,
  'group.promote': groupPromote,
  status,
  'image.list': imageList,
  'image.create': imageCreate,
  'group.launch': groupLaunch,
  'bake.list': bakeList,
  'bake.run': bakeRun,
  'group.history': groupHistory,
  'group.rollback': groupRollback,
  'report.submit': reportSubmit,
  'csr.check': csrCheck,
} as const;

export type MethodName = keyof typeof METHODS;
/** The params `name`'s handler receives, inferred from its definition. */
export type ParamsFor<M extends MethodName> = ParamsOf<(typeof METHODS)[M]['params']>;

export const isMethodName = (name: string): name is MethodName => Object.hasOwn(METHODS, name);

/** In definition order, with their names: for the generator and the specs that walk every method. */
export const methods: readonly MethodDef[] = Object.entries(METHODS).flatMap(([name, spec]) => (isMethodName(name) ? [{ name, ...spec }] : []));

export function findMethod(name: string): MethodDef | undefined {
  return methods.find((method) => method.name === name);
}
