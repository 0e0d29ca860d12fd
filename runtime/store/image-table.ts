/** How a row of a group's image lineage is stored. */
import type { ImageRecord } from './store.ts';
import { column, nullable, sqlName, text, textList, time, type Table } from './table.ts';

export const IMAGES = sqlName('images');

export const IMAGE_TABLE: Table<ImageRecord> = {
  image_id: column('image_id', text),
  group_name: column('group_name', text),
  region: column('region', text),
  name: column('name', text),
  parent_image: column('parent_image', text),
  bake_id: column('bake_id', nullable(text), { default: null }),
  config_version: column('config_version', nullable(text), { default: null }),
  changed_resources: column('changed_resources', textList),
  created_at: column('created_at', time),
  deregistered_at: column('deregistered_at', nullable(time), { default: null }),
};
