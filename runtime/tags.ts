/** The tag keys AutoAMI puts on everything it creates (docs/ARCHITECTURE.md §6). */
export const TAG = {
  group: 'autoami:group',
  bake: 'autoami:bake',
  launch: 'autoami:launch',
  parentImage: 'autoami:parent-image',
  configVersion: 'autoami:config-version',
  name: 'Name',
} as const;
