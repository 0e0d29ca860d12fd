import type { Handler } from './common.ts';
import { copyImageAction, createImageAction, deregisterImage, describeImages, modifyImageAttribute } from './images.ts';
import { describeInstances, runInstances, stopInstances, terminateInstances } from './instances.ts';
import { createTags, deleteTags, describeRegions } from './misc.ts';
import { deleteSnapshot, describeSnapshots } from './snapshots.ts';

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
  DescribeSnapshots: describeSnapshots,
  DeleteSnapshot: deleteSnapshot,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeRegions: describeRegions,
};
