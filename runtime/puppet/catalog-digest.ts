/**
 * What a compiled catalog says about a node, without what varies per compile: its
 * resources (type, title, parameters, exported) and the edges between them. Dropped:
 * `version`, `catalog_uuid`, `code_id`, the node's name, where each resource was declared
 * (file, line) and tags. The certname and instance id the catalog was compiled for are
 * replaced by placeholders wherever they appear, so two compiles for different bake
 * instances of one role agree. Sensitive parameter values are kept only as a keyed hash:
 * a change to one still shows, the value never reaches the store.
 */
import { createHash, createHmac } from 'node:crypto';

export type Json = null | boolean | number | string | readonly Json[] | { readonly [key: string]: Json };

export interface CatalogResource {
  /** `Type[title]`, as Puppet writes a reference. */
  readonly ref: string;
  readonly exported: boolean;
  /** Parameter name → value, keys sorted at every depth. */
  readonly parameters: Readonly<Record<string, Json>>;
}

export interface NormalCatalog {
  /** Sorted by ref. */
  readonly resources: readonly CatalogResource[];
  /** `Source -> Target`, sorted. */
  readonly edges: readonly string[];
}

export interface CatalogIdentity {
  /** The certname the catalog was compiled for. */
  readonly certname: string;
  /** The instance id presented in pp_instance_id, when there was one. */
  readonly instanceId?: string;
  /** Keys the hash of each sensitive value (a key every sidecar sharing the store holds). */
  readonly sensitiveKey: Buffer;
}

export const CERTNAME_PLACEHOLDER = '{certname}';
export const INSTANCE_PLACEHOLDER = '{instance_id}';

/** Thrown for a reply that is not a catalog; the caller names the server. */
export class CatalogShapeError extends Error {}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function replaceAll(text: string, identity: CatalogIdentity): string {
  let out = identity.certname ? text.split(identity.certname).join(CERTNAME_PLACEHOLDER) : text;
  if (identity.instanceId) out = out.split(identity.instanceId).join(INSTANCE_PLACEHOLDER);
  return out;
}

/** Keys sorted at every depth and the node's own names replaced, so equal content is equal JSON. */
function canonical(value: unknown, identity: CatalogIdentity): Json {
  if (typeof value === 'string') return replaceAll(value, identity);
  if (value === null || typeof value === 'boolean' || typeof value === 'number') return value;
  if (Array.isArray(value)) return value.map((each) => canonical(each, identity));
  if (isObject(value)) {
    const out: Record<string, Json> = {};
    for (const key of Object.keys(value).sort()) out[replaceAll(key, identity)] = canonical(value[key], identity);
    return out;
  }
  return null;
}

function sensitiveMark(value: unknown, key: Buffer): Json {
  const digest = createHmac('sha256', key).update('autoami catalog sensitive\0', 'utf8').update(JSON.stringify(value) ?? 'null', 'utf8').digest('hex');
  return { sensitive: `hmac-sha256:${digest}` };
}

function resourceOf(raw: unknown, identity: CatalogIdentity): CatalogResource {
  if (!isObject(raw) || typeof raw.type !== 'string' || typeof raw.title !== 'string') {
    throw new CatalogShapeError('a resource without a string type and title');
  }
  const sensitive = new Set(Array.isArray(raw.sensitive_parameters) ? raw.sensitive_parameters.filter((name): name is string => typeof name === 'string') : []);
  const given = isObject(raw.parameters) ? raw.parameters : {};
  const parameters: Record<string, Json> = {};
  for (const name of Object.keys(given).sort()) {
    parameters[name] = sensitive.has(name) ? sensitiveMark(given[name], identity.sensitiveKey) : canonical(given[name], identity);
  }
  return { ref: `${raw.type}[${replaceAll(raw.title, identity)}]`, exported: raw.exported === true, parameters };
}

/** `raw`: the catalog as Puppet Server's catalog API returns it (the `catalog` member of a v4 reply). */
export function normaliseCatalog(raw: unknown, identity: CatalogIdentity): NormalCatalog {
  if (!isObject(raw) || !Array.isArray(raw.resources)) throw new CatalogShapeError('no resources array');
  const resources = raw.resources.map((each) => resourceOf(each, identity)).sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
  const edges = (Array.isArray(raw.edges) ? raw.edges : [])
    .filter((edge): edge is { source: string; target: string } => isObject(edge) && typeof edge.source === 'string' && typeof edge.target === 'string')
    .map((edge) => `${replaceAll(edge.source, identity)} -> ${replaceAll(edge.target, identity)}`)
    .sort();
  return { resources, edges };
}

/** `sha256:<hex>` of the normal catalog's JSON, which is canonical by construction. */
export function catalogHash(catalog: NormalCatalog): string {
  return `sha256:${createHash('sha256').update(JSON.stringify(catalog), 'utf8').digest('hex')}`;
}

export interface ChangedResource {
  readonly ref: string;
  /** Parameters added, removed or given another value; `exported` when that flipped. */
  readonly parameters: readonly string[];
}

export interface CatalogDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly ChangedResource[];
  /** The containment edges differ: a resource added, removed or moved to another class. */
  readonly edgesChanged: boolean;
}

const same = (a: Json | undefined, b: Json | undefined) => JSON.stringify(a) === JSON.stringify(b);

/** What `after` has that `before` did not, resource by resource. */
export function diffCatalogs(before: NormalCatalog, after: NormalCatalog): CatalogDiff {
  const old = new Map(before.resources.map((resource) => [resource.ref, resource]));
  const now = new Map(after.resources.map((resource) => [resource.ref, resource]));
  const added = after.resources.filter((resource) => !old.has(resource.ref)).map((resource) => resource.ref);
  const removed = before.resources.filter((resource) => !now.has(resource.ref)).map((resource) => resource.ref);
  const changed: ChangedResource[] = [];
  for (const resource of after.resources) {
    const earlier = old.get(resource.ref);
    if (!earlier) continue;
    const names = [...new Set([...Object.keys(earlier.parameters), ...Object.keys(resource.parameters)])].sort();
    const parameters = names.filter((name) => !same(earlier.parameters[name], resource.parameters[name]));
    if (earlier.exported !== resource.exported) parameters.push('exported');
    if (parameters.length > 0) changed.push({ ref: resource.ref, parameters });
  }
  return { added, removed, changed, edgesChanged: !same(before.edges, after.edges) };
}
