/**
 * The store contract. Two backends keep it: MySQL (shared by several masters) and the
 * embedded file store (one sidecar). One contract suite in spec/ runs against both.
 * How each record's fields are stored is in its table (group-table.ts, bake-table.ts,
 * image-table.ts); both backends stamp times with the clock they are given.
 */
import type { ParamsFor } from '../interface/methods.ts';

/**
 * A method's params as a record keeps them: every field present, and one the caller may
 * leave out null rather than absent, so both backends store and return the same thing.
 */
export type AsRecord<P> = { readonly [K in keyof P]-?: {} extends Pick<P, K> ? Exclude<P[K], undefined> | null : P[K] };

/**
 * Exactly group.create's params: a new setting is its param, its entry in the group table
 * (the compiler asks for it), a migration, and the code that reads it.
 */
export type GroupSettings = AsRecord<ParamsFor<'group.create'>>;

/** Times, here and in every record, are epoch milliseconds. */
export interface Group extends GroupSettings {
  /** The image the group was defined with; retention never removes it. `image` starts as this. */
  readonly base_image: string;
  /**
   * `sha256:<hex>` of the normalised catalog `image` was baked with: what the catalog check
   * compares a new compile with. Null when unknown (the base image, or before catalog checks);
   * kept apart from the settings, as only promotion, rollback and the check itself set it.
   */
  readonly catalog_hash: string | null;
  /**
   * The base image `image` was built on, for a group that follows a base (--base-image-from
   * or --base-image-filter): a run that resolves another one bakes from it. Null when the
   * group follows none or no run has resolved it yet; kept apart from the settings, like
   * catalog_hash, as only `run` and promotion set it.
   */
  readonly followed_base: string | null;
  readonly created_at: number;
  readonly updated_at: number;
}

/** A base image newer than the one the group's image was built on: the bake starts from `to`. */
export interface BaseUpdate {
  /** The base it replaces; null when none was known. */
  readonly from: string | null;
  readonly to: string;
  /** Where `to` was found: the SSM parameter, or the name pattern and its owner. */
  readonly source: string;
}

/** What the catalog check concluded; `unchecked` when it could not tell (no facts yet, a compile error). */
export const CHECK_STATES = ['unchanged', 'changed', 'unchecked', 'forced'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

/** Resource-level difference between two catalogs, by resource reference (`Type[title]`). */
export interface CatalogDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly { readonly ref: string; readonly parameters: readonly string[] }[];
  readonly edgesChanged: boolean;
}

/** What the catalog check found before a bake launched (null on a bake it never checked). */
export interface CatalogCheck {
  readonly state: CheckState;
  /** e.g. 'catalog unchanged', 'no facts yet', the server's words on a compile error, '3 resources differ' */
  readonly reason: string;
  /** `sha256:<hex>` of the normalised catalog compiled; null when none was compiled. */
  readonly hash: string | null;
  /** The group's reference hash it was compared with (null: none known). */
  readonly reference: string | null;
  /** Resource-level difference from the reference catalog; null when not compared. */
  readonly diff: CatalogDiff | null;
  /** Whole milliseconds the compile took; null when none was compiled. */
  readonly compile_ms: number | null;
}

/** A bake moves forward through these; `done` carries an outcome. */
export const BAKE_STATES = [
  'queued', 'launching', 'booting', 'bootstrapping', 'awaiting_report', 'imaging', 'image_pending', 'verifying', 'distributing', 'promoted', 'publishing', 'cleaning', 'done',
] as const;
export type BakeState = (typeof BAKE_STATES)[number];

/**
 * Where the verification of a new image has got to, inside `verifying`: each written before
 * its side effect, like the bake's own states. launching (RunInstances from the new image) →
 * booting → bootstrapping (ssh runs the noop agent) → awaiting_report → verified (written as
 * the bake moves on to `distributing`).
 */
export const VERIFY_STEPS = ['launching', 'booting', 'bootstrapping', 'awaiting_report', 'verified'] as const;
export type VerifyStep = (typeof VERIFY_STEPS)[number];

/** `unverified`: the new image's noop run would still change something (or failed); the group stays. */
/** `published_with_errors`: baked, but a target of channel latest failed (the channel stays where it was). */
export const BAKE_OUTCOMES = ['baked', 'published_with_errors', 'unchanged', 'failed_run', 'unverified', 'timed_out', 'failed', 'cleanup_failed'] as const;
export type BakeOutcome = (typeof BAKE_OUTCOMES)[number];

/** The outcomes of a bake that made an image and moved its group to it. */
export const madeImage = (outcome: BakeOutcome | null): boolean => outcome === 'baked' || outcome === 'published_with_errors';

/**
 * The agent a bake waits for now: its verification instance's once that has launched (the
 * bake's own instance has run by then), else its own; null before an instance is recorded.
 */
export function waitingAgent(bake: Bake): { readonly certname: string; readonly instanceId: string } | null {
  if (bake.verify_certname !== null && bake.verify_instance_id !== null) return { certname: bake.verify_certname, instanceId: bake.verify_instance_id };
  if (bake.certname !== null && bake.instance_id !== null) return { certname: bake.certname, instanceId: bake.instance_id };
  return null;
}

/** What AutoAMI keeps of a Puppet report on its bake: report.submit's params but the facts, which are kept per group. */
export type ReportSummary = AsRecord<Omit<ParamsFor<'report.submit'>, 'facts'>>;

/**
 * The facts a group's latest bake instance reported, as the master cached them: what the
 * catalog check compiles the role with. One per group; a newer report replaces it.
 */
export interface GroupFacts {
  readonly group_name: string;
  readonly bake_id: string;
  /** The bake instance's certname, which the check presents (with its instance id). */
  readonly certname: string;
  readonly instance_id: string;
  readonly environment: string | null;
  readonly facts: Readonly<Record<string, unknown>>;
  readonly recorded_at: number;
}

/** The EC2 waits of a bake whose lengths a group keeps, to look for each change when it is likely. */
export const WAIT_KINDS = ['boot', 'image', 'terminate'] as const;
export type WaitKind = (typeof WAIT_KINDS)[number];

/** Where the change one wait was for fell, in milliseconds since the wait began: after not_yet_ms, by seen_ms. */
export interface WaitRecord {
  readonly group_name: string;
  readonly kind: WaitKind;
  readonly not_yet_ms: number;
  readonly seen_ms: number;
  readonly observed_at: number;
}

/**
 * Where one region's image of a bake has got to in `distributing`. Each step is written
 * before its call, so a resumed bake repeats at most that call, and each call is
 * idempotent: CopyImage by its ClientToken, the others by their nature.
 * copying → copied (CopyImage answered; waiting for it) → sharing → deprecating → done.
 * The home region's image starts at `sharing`.
 */
export const DISTRIBUTION_STEPS = ['copying', 'copied', 'sharing', 'deprecating', 'done'] as const;
export type DistributionStep = (typeof DISTRIBUTION_STEPS)[number];

export interface RegionalImage {
  /** Null until CopyImage has answered. */
  readonly image_id: string | null;
  readonly step: DistributionStep;
}

/** Region → that region's image of the bake, the home region included. */
export type Distribution = Readonly<Record<string, RegionalImage>>;

export interface NewBake {
  /**
   * Also the RunInstances ClientToken, so a retried or resumed launch gets back the
   * instance it already started instead of a second one.
   */
  readonly id: string;
  readonly run_id: string;
  readonly group_name: string;
  readonly region: string;
  readonly parent_image: string;
  /** The current state's deadline. */
  readonly deadline: number;
  /** What the catalog check found; given at creation only as `forced` (`run --force`). */
  readonly check?: CatalogCheck | null;
  /** Set when `run` resolved a new base image: `parent_image` is then `to`, and the bake bakes even if nothing else changed. */
  readonly base_update?: BaseUpdate | null;
}

export interface Bake extends NewBake {
  readonly state: BakeState;
  readonly outcome: BakeOutcome | null;
  readonly reason: string | null;
  readonly instance_id: string | null;
  readonly certname: string | null;
  readonly image_id: string | null;
  readonly image_name: string | null;
  readonly report: ReportSummary | null;
  readonly lease_owner: string | null;
  readonly lease_expires: number | null;
  readonly created_at: number;
  readonly updated_at: number;
  readonly finished_at: number | null;
  /**
   * `sha256:<hex>` of the one-time secret the instance's CSR must carry as challengePassword
   * (runtime/puppet/challenge.ts); never the secret itself. Null when no secret is
   * outstanding: none handed out yet, or spent on a signature, or the bake is past signing.
   */
  readonly challenge_hash: string | null;
  /** Each region's image, once the bake is `distributing`; empty before. */
  readonly distribution: Distribution;
  /** What the catalog check found before launch; null when it never ran (bakes from before it, or not yet). */
  readonly check: CatalogCheck | null;
  readonly base_update: BaseUpdate | null;
  /** Null unless the group verifies its images and the bake reached `verifying`. */
  readonly verify_step: VerifyStep | null;
  /** The instance booted from the new image, and its certname (reports are found by either certname). */
  readonly verify_instance_id: string | null;
  readonly verify_certname: string | null;
  /** The verification's noop run, kept once like `report`. */
  readonly verify_report: ReportSummary | null;
}

/** Fields a transition may set besides the state itself. */
export interface BakeUpdate {
  readonly state: BakeState;
  readonly outcome?: BakeOutcome;
  readonly reason?: string;
  readonly instance_id?: string;
  readonly certname?: string;
  readonly image_id?: string;
  readonly image_name?: string;
  readonly deadline?: number;
  readonly verify_step?: VerifyStep;
  readonly verify_instance_id?: string;
  readonly verify_certname?: string;
  /** A transition may only forget the challenge; setChallenge records one. */
  readonly challenge_hash?: null;
  /**
   * A condition, not a value: move only while the bake's challenge is still this hash (a
   * launch records only an instance carrying the secret the store knows).
   */
  readonly expect_challenge?: string;
}

export interface BakeFilter {
  /** Only bakes not yet `done`. */
  readonly active?: boolean;
  readonly group_name?: string;
  readonly run_id?: string;
}

/** One row of a group's image lineage. */
export interface ImageRecord {
  readonly image_id: string;
  readonly group_name: string;
  readonly region: string;
  readonly name: string;
  readonly parent_image: string;
  readonly bake_id: string | null;
  readonly config_version: string | null;
  readonly changed_resources: readonly string[];
  readonly created_at: number;
  /** Set when retention deregistered it (in every region). */
  readonly deregistered_at: number | null;
  /** Region → the image's copy there; the home region (`region`, `image_id`) is not in it. */
  readonly copies: Readonly<Record<string, string>>;
  /** Why retention last kept this image although it was due: what still uses it. */
  readonly retention_note: string | null;
  /** `sha256:<hex>` of the normalised catalog the image was baked with; promotion gives it to the group. Null: unknown. */
  readonly catalog_hash: string | null;
}

/** What made a publication: a bake (channel latest), `promote` or `rollback`. */
export const PUBLICATION_TRIGGERS = ['bake', 'promote', 'rollback'] as const;
export type PublicationTrigger = (typeof PUBLICATION_TRIGGERS)[number];

/** Only `published` moves the channel to the image; with errors it stays on the one before. */
export const PUBLICATION_OUTCOMES = ['published', 'published_with_errors'] as const;
export type PublicationOutcome = (typeof PUBLICATION_OUTCOMES)[number];

/**
 * Where one target of a publication has got to. Each step is written before its call:
 * SSM `writing` → `confirming` (SSM checks an image id after it answers) → `done`;
 * launch template `versioning` → `defaulting` → `done`; instance refresh `starting` →
 * `following` → `done`. `failed` ends a target, `skipped` one a rollback leaves alone.
 */
export const TARGET_STEPS = ['pending', 'writing', 'confirming', 'versioning', 'defaulting', 'starting', 'following', 'done', 'failed', 'skipped'] as const;
export type TargetStep = (typeof TARGET_STEPS)[number];

export interface TargetProgress {
  readonly step: TargetStep;
  /** SSM: the parameter version written; launch template: the version made default. */
  readonly version: number | null;
  /** Launch template: the default version this one replaced. */
  readonly replaced: number | null;
  /**
   * Instance refresh: while `starting`, the newest refresh the group had before this one
   * (a resumed start takes any newer one for its own); then this one's id.
   */
  readonly refresh_id: string | null;
  /** Instance refresh: when that baseline was written; SSM: when its check began. */
  readonly since: number | null;
  /** The last word on the target: a refresh's status, or why it failed. */
  readonly detail: string | null;
}

/** Target key (`ssm:REGION:NAME`, `launch-template:REGION:TEMPLATE`, `instance-refresh:REGION:ASG`) → its progress. */
export type PublicationProgress = Readonly<Record<string, TargetProgress>>;

export interface NewPublication {
  /** A bake's publication has the bake's id, so a resumed bake finds its own. */
  readonly id: string;
  readonly group_name: string;
  readonly channel: string;
  /** The image in the group's home region. */
  readonly image_id: string;
  /** Region → the image there, the home region included. */
  readonly images: Readonly<Record<string, string>>;
  readonly trigger: PublicationTrigger;
  /** The login that asked (promote, rollback); null for a bake. */
  readonly requested_by: string | null;
}

export interface Publication extends NewPublication {
  readonly progress: PublicationProgress;
  /** Null while it is under way (or was cut off). */
  readonly outcome: PublicationOutcome | null;
  readonly reason: string | null;
  readonly created_at: number;
  readonly updated_at: number;
  readonly finished_at: number | null;
}

export type StoreBackend = 'mysql' | 'embedded';

export interface Store {
  readonly backend: StoreBackend;
  /** Bring the schema up to date (forward only) and make the store ready. */
  open(): Promise<void>;
  /** Throws ConflictError(field 'name') when the name is taken. */
  createGroup(settings: GroupSettings): Promise<Group>;
  getGroup(name: string): Promise<Group | undefined>;
  listGroups(): Promise<Group[]>;
  /** True when a group was removed. */
  deleteGroup(name: string): Promise<boolean>;
  /**
   * Change some of a group's settings (each checked as createGroup checks it); undefined
   * when the group is gone. `name` cannot change.
   */
  updateGroup(name: string, changes: Partial<Omit<GroupSettings, 'name'>>): Promise<Group | undefined>;
  /**
   * Points the group at `image` (rollback) with that image's catalog hash, written together
   * so the group never pairs one image with another's catalog; false when the group is gone.
   */
  setGroupImage(name: string, image: string, catalogHash?: string | null): Promise<boolean>;
  /**
   * Record the catalog hash of the group's current image, only while that image is still
   * `image`: a check that compiled for an image a promotion or rollback has since replaced
   * writes nothing. False then, or when the group is gone.
   */
  setCatalogHash(groupName: string, image: string, hash: string | null): Promise<boolean>;
  /** Record the base image the group's image was built on (null: none known); false when the group is gone. */
  setFollowedBase(groupName: string, base: string | null): Promise<boolean>;

  /** A new bake in state `queued`. Throws ConflictError(field 'id') on a reused id. */
  createBake(bake: NewBake): Promise<Bake>;
  getBake(id: string): Promise<Bake | undefined>;
  /** The bake whose instance, or whose verification instance, has this certname. */
  findBakeByCertname(certname: string): Promise<Bake | undefined>;
  /** Oldest first. */
  listBakes(filter?: BakeFilter): Promise<Bake[]>;
  /**
   * Take (or renew) the lease on a bake that is unleased, leased by `owner`, or whose lease
   * expired before `now`: a conditional update, so two sidecars never both hold it.
   */
  acquireLease(id: string, owner: string, expires: number, now: number): Promise<Bake | undefined>;
  releaseLease(id: string, owner: string): Promise<void>;
  /**
   * Move a bake from `from` to `update.state`, only while `owner` holds its lease and it is
   * still in `from`; undefined when that no longer holds (another sidecar moved it).
   * Reaching `done` sets finished_at and clears the lease.
   */
  transition(id: string, owner: string, from: BakeState, update: BakeUpdate): Promise<Bake | undefined>;
  /**
   * Record the hash of a new one-time challenge (replacing any earlier one), only while
   * `owner` holds the bake's lease and it is still in `state`; undefined when that no longer
   * holds. ValidationError for anything but a `sha256:<hex>` digest, so a secret is never stored.
   */
  setChallenge(id: string, owner: string, state: BakeState, hash: string): Promise<Bake | undefined>;
  /**
   * Forget the challenge once a CSR carrying its secret is signed: only while it is still
   * `hash`, so of two callers spending one secret exactly one gets true. Needs no lease:
   * policy autosign spends it from whichever sidecar Puppet Server asks.
   */
  clearChallenge(id: string, hash: string): Promise<boolean>;
  /** Keep the bake's report; false (and nothing written) when it already has one. */
  recordReport(id: string, report: ReportSummary): Promise<boolean>;
  /** Keep the report of the bake's verification run; false (and nothing written) when it already has one. */
  recordVerifyReport(id: string, report: ReportSummary): Promise<boolean>;
  /** Keep a group's latest facts, stamped with the store's clock, in place of any it had. */
  recordFacts(facts: Omit<GroupFacts, 'recorded_at'>): Promise<void>;
  /** Undefined when no bake of the group has reported facts yet. */
  getFacts(groupName: string): Promise<GroupFacts | undefined>;
  /**
   * Keep where a wait of the group's fell, stamped with the store's clock. Only the newest
   * WAITS_KEPT of each group and kind stay. ValidationError unless 0 <= not_yet_ms < seen_ms.
   */
  recordWait(wait: Omit<WaitRecord, 'observed_at'>): Promise<void>;
  /** The group's kept waits of `kind`, newest first. */
  listWaits(groupName: string, kind: WaitKind): Promise<WaitRecord[]>;

  /**
   * Record where the bake's images have got to, only while `owner` holds its lease and it is
   * `distributing`; undefined when that no longer holds.
   */
  setDistribution(id: string, owner: string, distribution: Distribution): Promise<Bake | undefined>;

  /**
   * Record what the catalog check found, only while `owner` holds the bake's lease and it is
   * still in `state`; undefined when that no longer holds.
   */
  setCheck(id: string, owner: string, state: BakeState, check: CatalogCheck): Promise<Bake | undefined>;

  /**
   * Keep a normalised catalog under its `sha256:<hex>` hash. Content-addressed, so a hash kept
   * already is left as it is. ValidationError(field 'hash') for anything but such a digest.
   */
  putCatalog(hash: string, catalog: Readonly<Record<string, unknown>>): Promise<void>;
  /** The catalog kept under `hash`, exactly as put; undefined when none is. */
  getCatalog(hash: string): Promise<Readonly<Record<string, unknown>> | undefined>;

  /**
   * Atomically point the group at a new image (and its catalog hash) and add its lineage row. Idempotent: a
   * lineage row that exists already is kept as it is, and the group is pointed again.
   */
  promote(image: ImageRecord): Promise<void>;
  /** A group's lineage, newest first. */
  listImages(groupName: string): Promise<ImageRecord[]>;
  markImageDeregistered(imageId: string, at: number): Promise<void>;
  /** Retention's word on an image it kept although it was due (null clears it). */
  setRetentionNote(imageId: string, note: string | null): Promise<void>;

  /**
   * A new publication with no progress; for an id that exists already, that one, as it
   * is (a resumed bake carries on with its own).
   */
  startPublication(publication: NewPublication): Promise<Publication>;
  getPublication(id: string): Promise<Publication | undefined>;
  /** Record where its targets have got to; false (nothing written) once it is finished or when it is unknown. */
  setPublicationProgress(id: string, progress: PublicationProgress): Promise<boolean>;
  /** Ends it with an outcome; false (nothing written) when it was finished already or is unknown. */
  finishPublication(id: string, outcome: PublicationOutcome, reason: string | null): Promise<boolean>;
  /** A group's publications, every channel, newest first. */
  listPublications(groupName: string): Promise<Publication[]>;

  /** Throws StoreUnavailableError when the backend cannot be reached. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
