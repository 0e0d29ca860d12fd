/** How a row of a group's image lineage is stored. */
import { jsPattern } from '../interface/patterns.ts';
import { catalogHash } from './catalog-table.ts';
import type { ImageRecord } from './store.ts';
import { column, mapOf, nullable, sqlName, text, textList, time, type Table } from './table.ts';

export const IMAGES = sqlName('images');

/** Region → the image's copy there. */
export const copiesMap = mapOf('a map of region to image id', jsPattern('region'), text);

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
  // Images from before distribution live in their home region only.
  copies: column('copies', copiesMap, { default: {} }),
  retention_note: column('retention_note', nullable(text), { default: null }),
  // Images from before the catalog check were baked from a catalog nobody kept.
  catalog_hash: column('catalog_hash', nullable(catalogHash), { default: null }),
};
