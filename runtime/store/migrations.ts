/**
 * Forward-only MySQL schema. Append new migrations at the end with the next
 * version; never edit or remove one that has shipped, and never DROP.
 *
 * MySQL commits DDL implicitly, so a sidecar killed between a statement and the row in
 * `schema_migrations` re-runs that migration next time: every statement must be safe to
 * run twice (CREATE TABLE IF NOT EXISTS, or one ALTER per migration).
 */
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { StoreUnavailableError } from '../errors.ts';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

// `groups` is a reserved word from MySQL 8.0.2 (window functions), so it is always quoted.
// utf8mb4_bin: names compare and sort by code point, as in the embedded store.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'create groups',
    statements: [
      `CREATE TABLE IF NOT EXISTS \`groups\` (
        \`name\` VARCHAR(63) NOT NULL,
        \`image\` VARCHAR(255) NOT NULL,
        \`base_image\` VARCHAR(255) NOT NULL,
        \`type\` VARCHAR(64) NOT NULL,
        \`keyname\` VARCHAR(255) NOT NULL,
        \`keyfile\` VARCHAR(1024) NOT NULL,
        \`login\` VARCHAR(64) NOT NULL,
        \`puppetserver\` VARCHAR(255) NOT NULL,
        \`node_group\` VARCHAR(255) NOT NULL,
        \`enc_user\` VARCHAR(255) NOT NULL,
        \`enc_pass\` VARCHAR(1024) NOT NULL,
        \`enc_server\` VARCHAR(255) NULL,
        \`enc_port\` INT NOT NULL,
        \`region\` VARCHAR(32) NOT NULL,
        \`subnet\` VARCHAR(64) NULL,
        \`security_group\` VARCHAR(255) NULL,
        \`bootstrap\` VARCHAR(16) NOT NULL,
        \`keep\` INT NOT NULL,
        \`created_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`updated_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        PRIMARY KEY (\`name\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  // No foreign keys to `groups`: deleting a group keeps its bakes and lineage as history.
  // Reports and resource lists are LONGTEXT, not JSON: MySQL's JSON type reorders keys and
  // MariaDB's is LONGTEXT anyway, so text keeps both servers returning what was stored.
  {
    version: 2,
    name: 'create bakes and images',
    statements: [
      `CREATE TABLE IF NOT EXISTS \`bakes\` (
        \`id\` VARCHAR(64) NOT NULL,
        \`run_id\` VARCHAR(64) NOT NULL,
        \`group_name\` VARCHAR(63) NOT NULL,
        \`region\` VARCHAR(32) NOT NULL,
        \`parent_image\` VARCHAR(255) NOT NULL,
        \`state\` VARCHAR(32) NOT NULL,
        \`outcome\` VARCHAR(32) NULL,
        \`reason\` TEXT NULL,
        \`instance_id\` VARCHAR(64) NULL,
        \`certname\` VARCHAR(255) NULL,
        \`image_id\` VARCHAR(255) NULL,
        \`image_name\` VARCHAR(255) NULL,
        \`report\` LONGTEXT NULL,
        \`report_uuid\` VARCHAR(64) NULL COMMENT 'the report transaction_uuid',
        \`deadline\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`lease_owner\` VARCHAR(255) NULL,
        \`lease_expires\` DATETIME(3) NULL COMMENT 'UTC',
        \`created_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`updated_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`finished_at\` DATETIME(3) NULL COMMENT 'UTC',
        PRIMARY KEY (\`id\`),
        UNIQUE KEY \`bakes_certname\` (\`certname\`),
        KEY \`bakes_state\` (\`state\`),
        KEY \`bakes_group_created\` (\`group_name\`, \`created_at\`),
        KEY \`bakes_run\` (\`run_id\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
      `CREATE TABLE IF NOT EXISTS \`images\` (
        \`image_id\` VARCHAR(255) NOT NULL,
        \`group_name\` VARCHAR(63) NOT NULL,
        \`region\` VARCHAR(32) NOT NULL,
        \`name\` VARCHAR(255) NOT NULL,
        \`parent_image\` VARCHAR(255) NOT NULL,
        \`bake_id\` VARCHAR(64) NULL,
        \`config_version\` VARCHAR(255) NULL,
        \`changed_resources\` LONGTEXT NOT NULL COMMENT 'JSON array of resource titles',
        \`created_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`deregistered_at\` DATETIME(3) NULL COMMENT 'UTC',
        PRIMARY KEY (\`image_id\`),
        KEY \`images_group_created\` (\`group_name\`, \`created_at\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 3,
    name: 'groups: own bootstrap template, keep failed instances',
    // One statement, so it applies whole or not at all; a re-run after a crash between it
    // and its schema_migrations row finds the columns and counts as applied.
    statements: [
      `ALTER TABLE \`groups\`
        ADD COLUMN \`template\` VARCHAR(1024) NULL,
        ADD COLUMN \`keep_failed\` TINYINT(1) NOT NULL DEFAULT 0`,
    ],
  },
  {
    version: 4,
    name: 'bakes: hash of the one-time CSR challenge',
    // NULL for bakes already under way: an instance bootstrapped before this has no
    // challenge in its CSR, which is then refused (the bake times out and is cleaned).
    statements: [
      `ALTER TABLE \`bakes\`
        ADD COLUMN \`challenge_hash\` VARCHAR(80) NULL COMMENT 'sha256 of the outstanding challengePassword, never the secret'`,
    ],
  },
  {
    version: 5,
    name: 'distribution: group settings, regional images of bakes, copies and retention notes of images',
    // One ALTER per table, each whole or not at all, so a re-run after a crash finds a
    // table's columns (duplicate column) or adds them all. The defaults are what rows from
    // before read as: one region, unencrypted, unshared. A TEXT default must be an
    // expression in MySQL, and MariaDB takes that form too.
    statements: [
      `ALTER TABLE \`groups\`
        ADD COLUMN \`keep_days\` INT NULL,
        ADD COLUMN \`copy_to\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of regions',
        ADD COLUMN \`encrypt\` TINYINT(1) NOT NULL DEFAULT 0,
        ADD COLUMN \`kms_key\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of REGION=ARN and default=ARN',
        ADD COLUMN \`share_with\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of accounts and organization ARNs',
        ADD COLUMN \`deprecate_after\` VARCHAR(32) NULL COMMENT 'a duration such as 90d'`,
      `ALTER TABLE \`bakes\`
        ADD COLUMN \`distribution\` LONGTEXT NOT NULL DEFAULT ('{}') COMMENT 'JSON object: region to its image id and step'`,
      `ALTER TABLE \`images\`
        ADD COLUMN \`copies\` LONGTEXT NOT NULL DEFAULT ('{}') COMMENT 'JSON object: region to the copy image id',
        ADD COLUMN \`retention_note\` TEXT NULL`,
    ],
  },
  // Bake states and outcomes are VARCHAR(32), so `publishing` and `published_with_errors`
  // need no change to `bakes`.
  {
    version: 6,
    name: 'publication: group targets and refresh settings, publications',
    // As in 5: one ALTER, whole or not at all, and defaults that make groups from before
    // publish nowhere. `trigger` is a reserved word, so it is quoted like every name.
    statements: [
      `ALTER TABLE \`groups\`
        ADD COLUMN \`ssm_parameter\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of [CHANNEL:]NAME',
        ADD COLUMN \`launch_template\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of [CHANNEL:]TEMPLATE',
        ADD COLUMN \`instance_refresh\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of [CHANNEL:]ASG',
        ADD COLUMN \`min_healthy_percentage\` INT NOT NULL DEFAULT 90,
        ADD COLUMN \`refresh_replace_all\` TINYINT(1) NOT NULL DEFAULT 0`,
      `CREATE TABLE IF NOT EXISTS \`publications\` (
        \`id\` VARCHAR(64) NOT NULL,
        \`group_name\` VARCHAR(63) NOT NULL,
        \`channel\` VARCHAR(32) NOT NULL,
        \`image_id\` VARCHAR(255) NOT NULL,
        \`images\` LONGTEXT NOT NULL COMMENT 'JSON object: region to image id',
        \`trigger\` VARCHAR(16) NOT NULL,
        \`requested_by\` VARCHAR(64) NULL,
        \`progress\` LONGTEXT NOT NULL COMMENT 'JSON object: target key to its step and what it wrote',
        \`outcome\` VARCHAR(32) NULL,
        \`reason\` TEXT NULL,
        \`created_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`updated_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        \`finished_at\` DATETIME(3) NULL COMMENT 'UTC',
        PRIMARY KEY (\`id\`),
        KEY \`publications_group_created\` (\`group_name\`, \`created_at\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  // Reports keep their corrective titles inside `bakes.report` (JSON), which needs no change.
  {
    version: 7,
    name: 'judgement: which changes make an image, resources that never count',
    statements: [
      `ALTER TABLE \`groups\`
        ADD COLUMN \`bake_on\` VARCHAR(16) NOT NULL DEFAULT 'intentional',
        ADD COLUMN \`ignore_resources\` LONGTEXT NOT NULL DEFAULT ('[]') COMMENT 'JSON array of Type[title] patterns'`,
    ],
  },
  // One row per group, replaced by each newer report: the catalog check wants the group's
  // latest facts whichever bake reported them, so they are keyed by group, not kept on a bake.
  // No foreign key, as for bakes: deleteGroup removes the row itself.
  {
    version: 8,
    name: 'group facts: the latest facts a bake of each group reported',
    statements: [
      `CREATE TABLE IF NOT EXISTS \`group_facts\` (
        \`group_name\` VARCHAR(63) NOT NULL,
        \`bake_id\` VARCHAR(64) NOT NULL,
        \`certname\` VARCHAR(255) NOT NULL,
        \`instance_id\` VARCHAR(32) NOT NULL,
        \`environment\` VARCHAR(255) NULL,
        \`facts\` LONGTEXT NOT NULL COMMENT 'JSON object',
        \`recorded_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        PRIMARY KEY (\`group_name\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  // As in 5: one ALTER per table, each whole or not at all, and NULL for rows from before:
  // bakes never checked, groups and images whose catalog nobody kept. `check` is a reserved
  // word, so it is quoted like every name. Catalogs are keyed by their own hash, so two
  // images baked from one catalog share its row, and no foreign key ties them to a group.
  {
    version: 9,
    name: 'catalog check: findings on bakes, catalog hashes of groups and images, catalogs',
    statements: [
      `ALTER TABLE \`bakes\`
        ADD COLUMN \`check\` LONGTEXT NULL COMMENT 'JSON object: what the catalog check found before launch'`,
      `ALTER TABLE \`groups\`
        ADD COLUMN \`catalog_hash\` VARCHAR(80) NULL COMMENT 'sha256 of the normalised catalog of the current image'`,
      `ALTER TABLE \`images\`
        ADD COLUMN \`catalog_hash\` VARCHAR(80) NULL COMMENT 'sha256 of the normalised catalog it was baked with'`,
      `CREATE TABLE IF NOT EXISTS \`catalogs\` (
        \`hash\` VARCHAR(80) NOT NULL,
        \`catalog\` LONGTEXT NOT NULL COMMENT 'JSON',
        \`created_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        PRIMARY KEY (\`hash\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
  {
    version: 10,
    name: 'verification: groups that boot each new image before promoting it, and the verification instance of a bake',
    statements: [
      `ALTER TABLE \`groups\`
        ADD COLUMN \`verify\` TINYINT(1) NOT NULL DEFAULT 0`,
      `ALTER TABLE \`bakes\`
        ADD COLUMN \`verify_step\` VARCHAR(32) NULL,
        ADD COLUMN \`verify_instance_id\` VARCHAR(64) NULL,
        ADD COLUMN \`verify_certname\` VARCHAR(255) NULL,
        ADD COLUMN \`verify_report\` LONGTEXT NULL COMMENT 'JSON: the noop run on the new image'`,
      `ALTER TABLE \`bakes\` ADD UNIQUE KEY \`bakes_verify_certname\` (\`verify_certname\`)`,
    ],
  },
  // As in 9: NULL for rows from before, groups that follow no base and bakes that had no new one.
  {
    version: 11,
    name: 'base images: what a group follows, the base its image was built on, and the new base a bake started from',
    statements: [
      `ALTER TABLE \`groups\`
        ADD COLUMN \`base_image_from\` VARCHAR(1024) NULL COMMENT 'SSM parameter name',
        ADD COLUMN \`base_image_filter\` VARCHAR(128) NULL COMMENT 'AMI name pattern',
        ADD COLUMN \`base_image_owner\` VARCHAR(16) NULL,
        ADD COLUMN \`followed_base\` VARCHAR(32) NULL COMMENT 'the base image the current image was built on'`,
      `ALTER TABLE \`bakes\`
        ADD COLUMN \`base_update\` LONGTEXT NULL COMMENT 'JSON object: the new base image the bake started from'`,
    ],
  },
  // A few rows per group and kind, trimmed on each insert; the id orders them, as two waits
  // may end in the same millisecond. No foreign key, as for group_facts.
  {
    version: 12,
    name: 'wait history: where the change of each recent EC2 wait of a group fell',
    statements: [
      `CREATE TABLE IF NOT EXISTS \`wait_history\` (
        \`id\` BIGINT NOT NULL AUTO_INCREMENT,
        \`group_name\` VARCHAR(63) NOT NULL,
        \`kind\` VARCHAR(16) NOT NULL COMMENT 'boot, image or terminate',
        \`not_yet_ms\` INT NOT NULL COMMENT 'the last look that missed the change, since the wait began',
        \`seen_ms\` INT NOT NULL COMMENT 'the first look that saw it, since the wait began',
        \`observed_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
        PRIMARY KEY (\`id\`),
        KEY \`wait_history_group_kind\` (\`group_name\`, \`kind\`, \`id\`)
      ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    ],
  },
];

const SCHEMA_MIGRATIONS = `CREATE TABLE IF NOT EXISTS \`schema_migrations\` (
  \`version\` INT NOT NULL,
  \`name\` VARCHAR(255) NOT NULL,
  \`applied_at\` DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (\`version\`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`;

// GET_LOCK is server-wide, not per database: sidecars sharing one server take turns even
// on different databases, which only costs a short wait.
const MIGRATION_LOCK = 'autoami_migrate';
const LOCK_TIMEOUT_SECONDS = 30;

// Duplicate column or index: the statement took effect before a crash kept its row from being written.
const ALREADY_APPLIED = new Set(['ER_DUP_FIELDNAME', 'ER_DUP_KEYNAME']);

async function applyOnce(conn: Connection, statement: string): Promise<void> {
  try {
    await conn.query(statement);
  } catch (error) {
    if (!ALREADY_APPLIED.has((error as { code?: string }).code ?? '')) throw error;
  }
}

function checkOrder(migrations: readonly Migration[]): void {
  let previous = 0;
  for (const m of migrations) {
    if (!Number.isInteger(m.version) || m.version <= previous) {
      throw new Error(`migration ${m.version} (${m.name}) is out of order: versions must increase`);
    }
    previous = m.version;
  }
}

/**
 * Apply every migration the database lacks, holding the migration lock so sidecars that
 * start together on one database apply each migration once. The lock belongs to the
 * session, so everything runs on the one connection given. Returns the versions applied.
 */
export async function migrate(conn: Connection, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkOrder(migrations);
  const [locked] = await conn.execute<RowDataPacket[]>('SELECT GET_LOCK(?, ?) AS got', [MIGRATION_LOCK, LOCK_TIMEOUT_SECONDS]);
  if (Number(locked[0]?.got) !== 1) {
    throw new StoreUnavailableError(`another process held the migration lock ${MIGRATION_LOCK} for ${LOCK_TIMEOUT_SECONDS} s`);
  }
  try {
    await conn.query(SCHEMA_MIGRATIONS);
    const [rows] = await conn.query<RowDataPacket[]>('SELECT `version` FROM `schema_migrations`');
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of migrations) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await applyOnce(conn, statement);
      await conn.execute('INSERT INTO `schema_migrations` (`version`, `name`, `applied_at`) VALUES (?, ?, UTC_TIMESTAMP(3))', [
        migration.version,
        migration.name,
      ]);
      applied.push(migration.version);
    }
    return applied;
  } finally {
    // A failed release means the session is gone, and the server drops its locks with it.
    await conn.execute('SELECT RELEASE_LOCK(?)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}
