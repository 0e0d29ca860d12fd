import { constraint, patternMismatch, SsmFault } from './errors.ts';

/** AWS's own figures: 1011 for the name, 2048 for the member, which also has room for an ARN. */
export const MAX_NAME = 1011;
const MAX_MEMBER = 2048;
export const MAX_LEVELS = 15;

function present(member: string, raw: unknown): string {
  if (typeof raw !== 'string') throw constraint(member, raw, 'Member must not be null');
  if (raw.length < 1) throw constraint(member, raw, 'Member must have length greater than or equal to 1');
  if (raw.length > MAX_MEMBER) throw constraint(member, raw, `Member must have length less than or equal to ${MAX_MEMBER}`);
  return raw;
}

/**
 * The name a PutParameter may create. The checks run in the order SSM documents them, so a
 * name that breaks two rules gets the error a caller would see on AWS.
 */
export function checkNewName(raw: unknown): string {
  // SSM trims the ends itself and refuses only spaces between characters.
  const name = present('name', raw).trim();
  if (name.startsWith('arn:')) {
    throw new SsmFault('ValidationException', 'Parameter name: You can\'t enter the Amazon Resource Name (ARN) for a parameter, only the parameter name itself.');
  }
  if (/\s/.test(name)) throw new SsmFault('ValidationException', 'Parameter name can\'t contain spaces.');
  if (name.length > MAX_NAME) {
    throw new SsmFault('ValidationException', `Parameter name must not exceed ${MAX_NAME} characters.`);
  }
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) throw patternMismatch();
  if (name.includes('/') && !name.startsWith('/')) {
    throw new SsmFault('ValidationException', 'Parameter name must be a fully qualified name.');
  }
  const segments = name.startsWith('/') ? name.slice(1).split('/') : [name];
  if (segments.some((s) => s === '')) throw patternMismatch();
  // Both the bare name and a path's first level count as the prefix.
  if (/^(aws|ssm)/i.test(name) || /^(aws|ssm)/i.test(segments[0] ?? '')) throw patternMismatch();
  if (segments.length > MAX_LEVELS) {
    throw new SsmFault(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${MAX_LEVELS} levels. Parameter name ${name} has ${segments.length}.`,
    );
  }
  return name;
}

export interface NameRef {
  name: string;
  /** `:3` or `:label` exactly as given, for the reply's Selector. */
  selector?: string;
  version?: number;
  label?: string;
}

/**
 * A name as the read actions take it: the bare name or the parameter's ARN, either followed by
 * `:version` or `:label`. An ARN for another region or account names nothing here.
 */
export function readName(member: string, raw: unknown, region: string, accountId: string, selectable: boolean): NameRef | undefined {
  let text = present(member, raw).trim();
  if (text.startsWith('arn:')) {
    const arn = /^arn:aws:ssm:([^:]*):([^:]*):parameter\/(.+)$/.exec(text);
    if (!arn || arn[1] !== region || arn[2] !== accountId) return undefined;
    const rest = arn[3] as string;
    // Names with a slash must start with one, so the ARN's `parameter/a/b` is `/a/b`.
    text = rest.split(':')[0]?.includes('/') ? `/${rest}` : rest;
  }
  const colon = text.indexOf(':');
  if (colon < 0) return { name: text };
  if (!selectable) return undefined;
  const name = text.slice(0, colon);
  const selector = text.slice(colon);
  const key = selector.slice(1);
  if (/^\d+$/.test(key)) return { name, selector, version: Number(key) };
  return { name, selector, label: key };
}

export function arnOf(region: string, accountId: string, name: string): string {
  return `arn:aws:ssm:${region}:${accountId}:parameter/${name.replace(/^\//, '')}`;
}
