/**
 * `history NAME`: every finished bake of the group with the image it produced, and every
 * promotion and rollback of its channels.
 */
import { NotFoundError } from '../errors.ts';
import type { ParamsFor } from '../interface/methods.ts';
import { madeImage, type Bake, type BaseUpdate, type CatalogCheck, type CatalogDiff, type ImageRecord, type Store } from '../store/store.ts';
import { isoTime } from './iso-time.ts';

/** Region → id of `image` everywhere it was delivered; a base image is only where the group lives. */
export function imagesByRegion(image: ImageRecord | undefined, fallback: { region: string; image: string }): Record<string, string> {
  return image ? { [image.region]: image.image_id, ...image.copies } : { [fallback.region]: fallback.image };
}

export interface HistoryRow {
  time: string;
  /** `bake`, `promote` or `rollback`. */
  event: string;
  outcome: string;
  image: string | null;
  parent: string | null;
  config_version: string | null;
  changes: number;
  changed_resources: readonly string[];
  current: boolean;
  reason: string | null;
  /** The bake, or the promotion or rollback. */
  bake: string;
  /** Region → the image there (home and copies); empty when the bake made none. */
  images: Record<string, string>;
  /** What retention said when it kept the image although it was due. */
  retention: string | null;
  deregistered: boolean;
  /** The channel a bake published to, or a promotion or rollback was of. */
  channel: string | null;
  /** Who promoted or rolled back. */
  by: string | null;
  /** What the catalog check found before the bake launched, in one line (null: not checked). */
  catalog: string | null;
  /** The resources the catalog check saw change, when it compared. */
  catalog_diff: CatalogDiff | null;
  /** `verified`, or what the noop run on the new image would still change or where it failed; null when not verified. */
  verification: string | null;
  /** The new base image the bake started from, what it replaced and where it was found; null when none. */
  base: string | null;
}

/** `+added -removed ~changed(parameters)`, every resource named: history is where to look them up. */
export function catalogSummary(check: CatalogCheck | null): string | null {
  if (!check) return null;
  if (check.state !== 'changed') return check.state;
  if (!check.diff) return 'changed (no earlier catalog to compare)';
  const { added, removed, changed, edgesChanged } = check.diff;
  const parts = [...added.map((ref) => `+${ref}`), ...removed.map((ref) => `-${ref}`), ...changed.map((each) => `~${each.ref}(${each.parameters.join(',')})`)];
  if (parts.length === 0 && edgesChanged) parts.push('containment');
  return `changed: ${parts.join(' ')}`;
}

export function verificationSummary(bake: Bake): string | null {
  if (bake.verify_step === null) return null;
  if (bake.verify_step === 'verified') return 'verified';
  const report = bake.verify_report;
  if (!report) return `not finished (${bake.verify_step})`;
  if (report.failed_resources.length > 0 || report.status === 'failed') return `failed: ${report.failed_resources.join(' ') || report.status}`;
  return `would change: ${(report.noop ? report.pending_resources : report.changed_resources).join(' ')}`;
}

/** `ami-new (was ami-old) from SOURCE`: the parent column already says the bake started from it. */
export const baseSummary = (update: BaseUpdate): string => `${update.to}${update.from === null ? '' : ` (was ${update.from})`} from ${update.source}`;

export function historyHandlers(store: Store) {
  async function group(name: string) {
    const found = await store.getGroup(name);
    if (!found) throw new NotFoundError('group', name, 'name');
    return found;
  }

  return {
    async 'group.history'(params: ParamsFor<'group.history'>): Promise<HistoryRow[]> {
      const current = await group(params.name);
      const bakes = (await store.listBakes({ group_name: current.name })).filter((bake) => bake.state === 'done');
      const images = new Map((await store.listImages(current.name)).map((image) => [image.image_id, image]));
      const publications = await store.listPublications(current.name);
      const byId = new Map(publications.map((publication) => [publication.id, publication]));
      const baked = bakes.map((bake): { at: number; row: HistoryRow } => {
        const image = bake.image_id && madeImage(bake.outcome) ? images.get(bake.image_id) : undefined;
        return {
          at: bake.created_at,
          row: {
            time: isoTime(bake.finished_at ?? bake.updated_at),
            event: 'bake',
            outcome: bake.outcome ?? 'unknown',
            image: image?.image_id ?? null,
            parent: bake.parent_image,
            config_version: bake.report?.configuration_version ?? null,
            changes: bake.report?.changed ?? 0,
            changed_resources: bake.report?.changed_resources ?? [],
            current: image !== undefined && image.image_id === current.image,
            reason: bake.reason,
            bake: bake.id,
            images: image ? imagesByRegion(image, current) : {},
            retention: image?.retention_note ?? null,
            deregistered: image ? image.deregistered_at !== null : false,
            channel: byId.get(bake.id)?.channel ?? null,
            by: null,
            catalog: catalogSummary(bake.check),
            catalog_diff: bake.check?.diff ?? null,
            verification: verificationSummary(bake),
            base: bake.base_update ? baseSummary(bake.base_update) : null,
          },
        };
      });
      const asked = publications
        .filter((publication) => publication.trigger !== 'bake')
        .map((publication): { at: number; row: HistoryRow } => {
          const image = images.get(publication.image_id);
          return {
            at: publication.created_at,
            row: {
              time: isoTime(publication.finished_at ?? publication.created_at),
              event: publication.trigger,
              outcome: publication.outcome ?? 'interrupted',
              image: publication.image_id,
              parent: null,
              config_version: image?.config_version ?? null,
              changes: 0,
              changed_resources: [],
              current: false,
              reason: publication.reason,
              bake: publication.id,
              images: { ...publication.images },
              retention: null,
              deregistered: image ? image.deregistered_at !== null : false,
              channel: publication.channel,
              by: publication.requested_by,
              catalog: null,
              catalog_diff: null,
              verification: null,
              base: null,
            },
          };
        });
      // Newest first by when each began, as bakes always were listed; the sort is stable, so ties keep bakes first.
      return [...baked, ...asked].sort((a, b) => b.at - a.at).map((entry) => entry.row);
    },
  };
}
