/**
 * How the catalog check's findings are stored: its verdict on a bake, kept whole as JSON in
 * one column like the report, and the normalised catalogs it compiled, kept once each
 * under their hash so every image and check naming a hash can get its catalog back.
 */
import { factsObject } from './facts-table.ts';
import { CHECK_STATES, type CatalogCheck, type CatalogDiff } from './store.ts';
import { column, field, flag, integer, listOf, matching, nested, nullable, oneOf, sqlName, text, textList, time, type Shape, type Table } from './table.ts';

export const CATALOGS = sqlName('catalogs');

/** What runtime/puppet/catalog-digest.ts makes: only a digest is a key, never a guess at one. */
export const CATALOG_HASH = /^sha256:[0-9a-f]{64}$/;
export const catalogHash = matching('a sha256:<hex> digest', CATALOG_HASH);

/** A catalog as kept: the store's own record, not part of its contract (putCatalog/getCatalog). */
export interface StoredCatalog {
  readonly hash: string;
  readonly catalog: Readonly<Record<string, unknown>>;
  readonly created_at: number;
}

// Whatever the check normalised, so only its being a JSON object is checked, as for facts.
export const CATALOG_TABLE: Table<StoredCatalog> = {
  hash: column('hash', catalogHash),
  catalog: column('catalog', factsObject),
  created_at: column('created_at', time),
};

// No defaults, here or below: a check that left something unsaid was not recorded by this store.
export const CHANGED_RESOURCE_SHAPE: Shape<CatalogDiff['changed'][number]> = {
  ref: field(text),
  parameters: field(textList),
};

export const DIFF_SHAPE: Shape<CatalogDiff> = {
  added: field(textList),
  removed: field(textList),
  changed: field(listOf('a list of changed resources', nested('a changed resource', CHANGED_RESOURCE_SHAPE))),
  edgesChanged: field(flag),
};

export const CHECK_SHAPE: Shape<CatalogCheck> = {
  state: field(oneOf('a check state', CHECK_STATES)),
  reason: field(text),
  hash: field(nullable(catalogHash)),
  reference: field(nullable(catalogHash)),
  diff: field(nullable(nested('a catalog diff', DIFF_SHAPE))),
  compile_ms: field(nullable(integer)),
};

export const catalogCheck = nested('a catalog check', CHECK_SHAPE);
