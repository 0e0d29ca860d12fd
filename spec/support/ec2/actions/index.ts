import type { Handler } from './common.ts';
import { copyImageAction } from './copy.ts';
import { createImageAction, deregisterImage, describeImages } from './images.ts';
import { describeInstances, runInstances, stopInstances, terminateInstances } from './instances.ts';
import { createKeyPair, deleteKeyPair, describeKeyPairs } from './key-pairs.ts';
import {
  createLaunchTemplate,
  createLaunchTemplateVersion,
  describeLaunchTemplates,
  describeLaunchTemplateVersions,
  modifyLaunchTemplate,
} from './launch-templates.ts';
import {
  describeImageReferences,
  disableImageDeprecation,
  disableImageDeregistrationProtection,
  enableImageDeprecation,
  enableImageDeregistrationProtection,
} from './lifecycle.ts';
import { createTags, deleteTags, describeRegions } from './misc.ts';
import {
  authorizeSecurityGroupIngress,
  createSecurityGroup,
  deleteSecurityGroup,
  describeSecurityGroups,
} from './security-groups.ts';
import { describeImageAttribute, describeSnapshotAttribute, modifyImageAttribute, modifySnapshotAttribute } from './sharing.ts';
import { deleteSnapshot, describeSnapshots } from './snapshots.ts';
import { describeVolumes } from './volumes.ts';

export type { ActionContext, Handler } from './common.ts';

/** Every action the endpoint understands; anything else is InvalidAction. */
export const HANDLERS: Readonly<Record<string, Handler>> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  StopInstances: stopInstances,
  TerminateInstances: terminateInstances,
  CreateImage: createImageAction,
  DescribeImages: describeImages,
  DeregisterImage: deregisterImage,
  CopyImage: copyImageAction,
  ModifyImageAttribute: modifyImageAttribute,
  DescribeImageAttribute: describeImageAttribute,
  EnableImageDeprecation: enableImageDeprecation,
  DisableImageDeprecation: disableImageDeprecation,
  EnableImageDeregistrationProtection: enableImageDeregistrationProtection,
  DisableImageDeregistrationProtection: disableImageDeregistrationProtection,
  DescribeImageReferences: describeImageReferences,
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  ModifySnapshotAttribute: modifySnapshotAttribute,
  DescribeSnapshotAttribute: describeSnapshotAttribute,
  CreateLaunchTemplate: createLaunchTemplate,
  CreateLaunchTemplateVersion: createLaunchTemplateVersion,
  ModifyLaunchTemplate: modifyLaunchTemplate,
  DescribeLaunchTemplates: describeLaunchTemplates,
  DescribeLaunchTemplateVersions: describeLaunchTemplateVersions,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeRegions: describeRegions,
  CreateKeyPair: createKeyPair,
  DeleteKeyPair: deleteKeyPair,
  DescribeKeyPairs: describeKeyPairs,
  CreateSecurityGroup: createSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
  AuthorizeSecurityGroupIngress: authorizeSecurityGroupIngress,
  DeleteSecurityGroup: deleteSecurityGroup,
  DescribeVolumes: describeVolumes,
};
