/**
 * Where a group publishes its images, by channel. Each target option takes
 * `[CHANNEL:]VALUE`; a value without a channel is in `latest`, the channel a bake publishes
 * to at once. These shapes are checked by the sidecar alone: SSM names hold `/`, which
 * Puppet's regular expression literals end at (see arns.ts).
 */

export const DEFAULT_CHANNEL = 'latest';

/** A channel name: lower case, so `prod:` can never be mistaken for part of a value. */
export const CHANNEL = '[a-z][a-z0-9-]{0,31}';
export const CHANNEL_WORDS = 'a channel name such as latest or prod (lower-case letters, digits and -)';

const channelPrefix = `(${CHANNEL}:)?`;

/**
 * Only what SSM allows in a name; its other rules (no `aws`/`ssm` prefix, a hierarchy starts
 * with `/`, at most 15 levels) are in runtime/publish/targets.ts, which says which was broken.
 */
export const SSM_PARAMETER_NAME = '[a-zA-Z0-9_.\\-/]{1,1011}';
/** A launch template id, or a name as EC2 allows it. */
export const LAUNCH_TEMPLATE = '(lt-[0-9a-f]{17}|[a-zA-Z0-9().\\-/_]{3,128})';
/**
 * An Auto Scaling group name. AWS allows nearly any text; a colon would read as a channel
 * and a comma would split the list, so names holding either cannot be named here.
 */
export const ASG_NAME = '[a-zA-Z0-9._@+=/ -]{1,255}';

export const targetPattern = (value: string): RegExp => new RegExp(`^${channelPrefix}${value}$`);
export const channelPattern = (): RegExp => new RegExp(`^${CHANNEL}$`);
