/** How the MySQL store's rows map to the contract's records, and back. */
import type { RowDataPacket } from 'mysql2/promise';
import type { Bake, BakeOutcome, BakeState, Group, ImageRecord, ReportSummary } from './store.ts';

const quoted = (columns: readonly string[]): string => columns.map((c) => `\`${c}\``).join(', ');
const marks = (columns: readonly string[]): string => columns.map(() => '?').join(', ');

export const GROUP_COLUMNS = [
  'name', 'image', 'base_image', 'type', 'keyname', 'keyfile', 'login', 'puppetserver', 'node_group', 'enc_user',
  'enc_pass', 'enc_server', 'enc_port', 'region', 'subnet', 'security_group', 'bootstrap', 'keep', 'created_at', 'updated_at',
  'template', 'keep_failed',
] as const satisfies readonly (keyof Group)[];
export const SELECT_GROUPS = `SELECT ${quoted(GROUP_COLUMNS)} FROM \`groups\``;
export const INSERT_GROUP = `INSERT INTO \`groups\` (${quoted(GROUP_COLUMNS)}) VALUES (${marks(GROUP_COLUMNS)})`;

const BAKE_COLUMNS = [
  'id', 'run_id', 'group_name', 'region', 'parent_image', 'deadline', 'state', 'outcome', 'reason', 'instance_id', 'certname',
  'image_id', 'image_name', 'report', 'lease_owner', 'lease_expires', 'created_at', 'updated_at', 'finished_at', 'challenge_hash',
] as const satisfies readonly (keyof Bake)[];
export const SELECT_BAKES = `SELECT ${quoted(BAKE_COLUMNS)} FROM \`bakes\``;
const NEW_BAKE_COLUMNS = ['id', 'run_id', 'group_name', 'region', 'parent_image', 'deadline', 'state', 'created_at', 'updated_at'] as const;
export const INSERT_BAKE = `INSERT INTO \`bakes\` (${quoted(NEW_BAKE_COLUMNS)}) VALUES (${marks(NEW_BAKE_COLUMNS)})`;

const IMAGE_COLUMNS = [
  'image_id', 'group_name', 'region', 'name', 'parent_image', 'bake_id', 'config_version', 'changed_resources', 'created_at',
  'deregistered_at',
] as const satisfies readonly (keyof ImageRecord)[];
export const SELECT_IMAGES = `SELECT ${quoted(IMAGE_COLUMNS)} FROM \`images\``;
// Not INSERT IGNORE: that would also turn strict-mode errors (an over-long value) into warnings.
export const INSERT_IMAGE = `INSERT INTO \`images\` (${quoted(IMAGE_COLUMNS)}) VALUES (${marks(IMAGE_COLUMNS)})
  ON DUPLICATE KEY UPDATE \`image_id\` = \`image_id\``;

// DATETIME(3) arrives as "YYYY-MM-DD HH:MM:SS.mmm" (dateStrings) and holds UTC.
export const toIso = (value: unknown): string => new Date(`${String(value).replace(' ', 'T')}Z`).toISOString();
export const toDatetime = (iso: string): string => iso.replace('T', ' ').replace('Z', '');
const nullable = (value: unknown): string | null => (value === null || value === undefined ? null : String(value));
const nullableIso = (value: unknown): string | null => (value === null || value === undefined ? null : toIso(value));

export function rowToGroup(row: RowDataPacket): Group {
  return {
    name: String(row.name), image: String(row.image), base_image: String(row.base_image), type: String(row.type),
    keyname: String(row.keyname), keyfile: String(row.keyfile), login: String(row.login),
    puppetserver: String(row.puppetserver), node_group: String(row.node_group), enc_user: String(row.enc_user),
    enc_pass: String(row.enc_pass), enc_server: nullable(row.enc_server), enc_port: Number(row.enc_port),
    region: String(row.region), subnet: nullable(row.subnet), security_group: nullable(row.security_group),
    bootstrap: String(row.bootstrap) as Group['bootstrap'], keep: Number(row.keep),
    created_at: toIso(row.created_at), updated_at: toIso(row.updated_at),
    template: nullable(row.template), keep_failed: Number(row.keep_failed) === 1,
  };
}

export const groupValues = (group: Group): (string | number | null)[] =>
  GROUP_COLUMNS.map((c) => {
    if (c === 'created_at' || c === 'updated_at') return toDatetime(group[c]);
    if (c === 'keep_failed') return group.keep_failed ? 1 : 0;
    return group[c];
  });

export function rowToBake(row: RowDataPacket): Bake {
  return {
    id: String(row.id), run_id: String(row.run_id), group_name: String(row.group_name), region: String(row.region),
    parent_image: String(row.parent_image), deadline: toIso(row.deadline), state: String(row.state) as BakeState,
    outcome: nullable(row.outcome) as BakeOutcome | null, reason: nullable(row.reason), instance_id: nullable(row.instance_id),
    certname: nullable(row.certname), image_id: nullable(row.image_id), image_name: nullable(row.image_name),
    report: row.report === null ? null : (JSON.parse(String(row.report)) as ReportSummary),
    lease_owner: nullable(row.lease_owner), lease_expires: nullableIso(row.lease_expires),
    created_at: toIso(row.created_at), updated_at: toIso(row.updated_at), finished_at: nullableIso(row.finished_at),
    challenge_hash: nullable(row.challenge_hash),
  };
}

export const newBakeValues = (bake: Bake): string[] =>
  NEW_BAKE_COLUMNS.map((c) => (c === 'deadline' || c === 'created_at' || c === 'updated_at' ? toDatetime(bake[c]) : bake[c]));

export function rowToImage(row: RowDataPacket): ImageRecord {
  return {
    image_id: String(row.image_id), group_name: String(row.group_name), region: String(row.region), name: String(row.name),
    parent_image: String(row.parent_image), bake_id: nullable(row.bake_id), config_version: nullable(row.config_version),
    changed_resources: JSON.parse(String(row.changed_resources)) as string[],
    created_at: toIso(row.created_at), deregistered_at: nullableIso(row.deregistered_at),
  };
}

export const imageValues = (image: ImageRecord): (string | null)[] => [
  image.image_id, image.group_name, image.region, image.name, image.parent_image, image.bake_id, image.config_version,
  JSON.stringify(image.changed_resources), toDatetime(image.created_at),
  image.deregistered_at === null ? null : toDatetime(image.deregistered_at),
];
