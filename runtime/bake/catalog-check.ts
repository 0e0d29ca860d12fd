/**
 * Knowing before launching (docs/ARCHITECTURE.md §2): a queued bake first compiles its
 * role's catalog on the group's Puppet Server, with the facts the group's latest bake
 * instance reported and the trusted facts a bake instance presents. The normalised
 * catalog's hash is compared with the one recorded for the image the group is on; equal
 * means the next instance would converge to what that image already holds, so nothing is
 * launched. Anything that keeps the check from deciding (no facts yet, a compile error, an
 * unreachable server) launches as before, saying why.
 */
import type { CatalogCompiler } from '../puppet/catalog.ts';
import { catalogHash, diffCatalogs, normaliseCatalog, CatalogShapeError, type CatalogDiff, type NormalCatalog } from '../puppet/catalog-digest.ts';
import type { BaseUpdate, CatalogCheck, Group, Store } from '../store/store.ts';
import { describeBaseUpdate } from './base-image.ts';
import { listed } from './listing.ts';

export interface CatalogCheckEnv {
  readonly store: Store;
  readonly compiler: CatalogCompiler;
  /** Keys the hash of sensitive parameter values (shared by every sidecar on the store). */
  readonly sensitiveKey: Buffer;
}

export const CATALOG_UNCHANGED = 'catalog unchanged';

const unchecked = (reason: string): CatalogCheck => ({ state: 'unchecked', reason, hash: null, reference: null, diff: null, compile_ms: null });

export const FORCED: CatalogCheck = { state: 'forced', reason: 'run --force: launched without a catalog check', hash: null, reference: null, diff: null, compile_ms: null };

/** Resources named in a bake's one-line reason; `history` has them all. */
const NAMED = 3;

/** One line for the bake's reason; `history` shows the whole difference. */
export function describeDiff(diff: CatalogDiff): string {
  const parts = [
    diff.added.length > 0 ? `added ${listed(diff.added, NAMED)}` : '',
    diff.removed.length > 0 ? `removed ${listed(diff.removed, NAMED)}` : '',
    diff.changed.length > 0 ? `changed ${listed(diff.changed.map((each) => `${each.ref} (${each.parameters.join(', ')})`), NAMED)}` : '',
    diff.edgesChanged && diff.added.length + diff.removed.length === 0 ? 'containment changed' : '',
  ].filter(Boolean);
  return `catalog changed: ${parts.join('; ') || 'no resource differs, yet the catalogs do'}`;
}

type Compiled = { readonly state: 'compiled'; readonly hash: string; readonly normal: NormalCatalog; readonly version: string | null; readonly ms: number };

/** Compiles with the group's latest facts, normalises, hashes and keeps the catalog; or says why not. */
async function compileRole(env: CatalogCheckEnv, group: Group): Promise<Compiled | CatalogCheck> {
  const facts = await env.store.getFacts(group.name);
  if (!facts) return unchecked('no facts yet: no bake instance of the group has reported, so the catalog was not checked');
  const compiled = await env.compiler.compile(group.puppetserver, {
    certname: facts.certname,
    environment: facts.environment ?? 'production',
    facts: facts.facts,
    extensions: { pp_role: group.name, pp_instance_id: facts.instance_id },
  });
  if (compiled.state === 'not_compiled') return unchecked(`the catalog was not checked: ${compiled.reason}`);
  const compileMs = Math.round(compiled.ms);

  let normal: NormalCatalog;
  try {
    normal = normaliseCatalog(compiled.catalog, { certname: facts.certname, instanceId: facts.instance_id, sensitiveKey: env.sensitiveKey });
  } catch (error) {
    if (!(error instanceof CatalogShapeError)) throw error;
    return unchecked(`the catalog was not checked: Puppet Server's catalog has ${error.message}`);
  }
  const hash = catalogHash(normal);
  // Kept before it is referred to: the bake that bakes it makes it the group's reference.
  await env.store.putCatalog(hash, normal as unknown as Readonly<Record<string, unknown>>);
  const version = (compiled.catalog as { version?: unknown }).version;
  return { state: 'compiled', hash, normal, version: typeof version === 'string' || typeof version === 'number' ? String(version) : null, ms: compileMs };
}

export async function checkCatalog(env: CatalogCheckEnv, group: Group): Promise<CatalogCheck> {
  const compiled = await compileRole(env, group);
  if (compiled.state !== 'compiled') return compiled;
  const { hash, normal } = compiled;
  const reference = group.catalog_hash;
  const base = { hash, reference, compile_ms: compiled.ms };
  if (reference === null) return { ...base, state: 'changed', reason: `no catalog is known for ${group.image}, the image the group is on`, diff: null };
  if (reference === hash) return { ...base, state: 'unchanged', reason: CATALOG_UNCHANGED, diff: null };
  const before = (await env.store.getCatalog(reference)) as NormalCatalog | undefined;
  if (!before) return { ...base, state: 'changed', reason: 'catalog changed (the catalog of the image the group is on is no longer kept)', diff: null };
  const diff = diffCatalogs(before, normal);
  return { ...base, state: 'changed', reason: describeDiff(diff), diff };
}

/**
 * A new base image is a reason to launch by itself: an unchanged catalog says the role is
 * what the group's image holds, not that the new base holds it too.
 */
export function withBaseUpdate(check: CatalogCheck, update: BaseUpdate | null): CatalogCheck {
  if (update === null || check.state !== 'unchanged') return check;
  return { ...check, state: 'changed', reason: `${CATALOG_UNCHANGED}, but ${describeBaseUpdate(update)}` };
}

/**
 * A bake that launched unchecked (its group had no facts yet) learns its catalog once its
 * run reported: compiled now with the facts that run brought, it is the run's own catalog
 * only if the code has not moved since, which the configuration version proves when it
 * names the code (a commit, as `config_version` scripts give). Otherwise the bake keeps no
 * hash, and the group's next run launches once more to learn it.
 */
export async function checkAfterRun(env: CatalogCheckEnv, group: Group, earlier: CatalogCheck, configurationVersion: string | null): Promise<CatalogCheck | null> {
  if (configurationVersion === null) return null;
  const compiled = await compileRole(env, group);
  if (compiled.state !== 'compiled' || compiled.version !== configurationVersion) return null;
  return { ...earlier, hash: compiled.hash, compile_ms: compiled.ms, reason: `${earlier.reason}; after the run, its catalog (configuration version ${configurationVersion}) was recorded` };
}
