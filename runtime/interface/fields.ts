/** Field shapes used by more than one method. */
import type { FieldDef } from './schema.ts';

const hex = '(?:[0-9a-f]{8}|[0-9a-f]{17})';

export const groupName: FieldDef = {
  type: 'string',
  summary: 'The group (role) name',
  placeholder: 'NAME',
  required: true,
  pattern: /^[a-z][a-z0-9_-]{0,62}$/,
  expected: 'a lower-case letter, then up to 62 of a-z, 0-9, _ and -',
};

export const amiId: FieldDef = {
  type: 'string',
  summary: 'An AMI id',
  placeholder: 'AMI',
  pattern: new RegExp(`^ami-${hex}$`),
  expected: "'ami-' followed by 8 or 17 hex digits",
};

export const hostName: FieldDef = {
  type: 'string',
  summary: 'A host name',
  placeholder: 'HOST',
  maxLength: 253,
  pattern: /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/,
  expected: 'a DNS host name such as puppet.example.com',
};

export const region: FieldDef = {
  type: 'string',
  summary: 'AWS region',
  placeholder: 'REGION',
  maxLength: 32,
  pattern: /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/,
  expected: 'an AWS region such as us-east-1',
};

export const subnetId: FieldDef = {
  type: 'string',
  summary: 'VPC subnet to launch into',
  placeholder: 'SUBNET',
  pattern: new RegExp(`^subnet-${hex}$`),
  expected: "'subnet-' followed by 8 or 17 hex digits",
};

export const securityGroupId: FieldDef = {
  type: 'string',
  summary: 'Security group for the instance',
  placeholder: 'SG',
  pattern: new RegExp(`^sg-${hex}$`),
  expected: "'sg-' followed by 8 or 17 hex digits",
};

export const instanceType: FieldDef = {
  type: 'string',
  summary: 'EC2 instance type',
  placeholder: 'TYPE',
  maxLength: 64,
  pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
  expected: 'an instance type such as t3.micro',
};

/** Free-form names (key pairs, node groups, logins to the console): printable text. */
export function label(summary: string, placeholder: string, maxLength = 255): FieldDef {
  return { type: 'string', summary, placeholder, maxLength };
}
