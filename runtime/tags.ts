/** The tag keys AutoAMI puts on everything it creates (docs/ARCHITECTURE.md §7). */
export const TAG = {
  group: 'autoami:group',
  bake: 'autoami:bake',
  launch: 'autoami:launch',
  parentImage: 'autoami:parent-image',
  configVersion: 'autoami:config-version',
  /** On a copy: the home region's image and region it was copied from. */
  sourceImage: 'autoami:source-image',
  sourceRegion: 'autoami:source-region',
  /** On an SSM parameter: the channel it publishes. */
  channel: 'autoami:channel',
  name: 'Name',
} as const;
