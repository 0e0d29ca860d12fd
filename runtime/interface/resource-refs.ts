/**
 * Puppet resource references as a group names them in `--ignore-resources`: `Type[title]`,
 * the type as Puppet writes it (`Exec`, `Apt::Source`), `*` in the title standing for any
 * text. Matching against a report's titles is in runtime/bake/resource-filter.ts.
 */

const TYPE_SEGMENT = '[A-Za-z][A-Za-z0-9_]*';
/** A title holds no comma (the list is split on commas) and no line break. */
export const RESOURCE_REF = `${TYPE_SEGMENT}(?:::${TYPE_SEGMENT})*\\[[^,\\n\\r]+\\]`;
export const RESOURCE_REF_WORDS = 'a resource reference Type[title] such as Exec[apt_update] or Notify[*] (* in the title for any text, no comma)';

export const resourceRefPattern = (): RegExp => new RegExp(`^${RESOURCE_REF}$`);

/** Which changes make an image: only intentional ones (the default), or any. */
export const BAKE_ON = ['intentional', 'any'] as const;
export type BakeOn = (typeof BAKE_ON)[number];
