/** The tag keys AutoAMI puts on everything it creates (DESIGN §6). */
export const TAG = {
  group: 'autoami:group',
  bake: 'autoami:bake',
  launch: 'autoami:launch',
  parentImage: 'autoami:parent-image',
  configVersion: 'autoami:config-version',
  name: 'Name',
} as const;
